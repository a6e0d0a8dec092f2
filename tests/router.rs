//! Routing inbound events from the sandbox's people to handlers and to a human queue.

use std::sync::{Arc, Mutex};

use switchboard::conversation::{Dispatched, Route, Router};
use switchboard::sandbox::Sandbox;
use switchboard::{ChannelKind, InboundEvent};

#[tokio::test]
async fn keywords_buttons_channels_and_hand_over() {
    let sandbox = Sandbox::start().await.unwrap();
    let whatsapp = sandbox.whatsapp();
    let sms = sandbox.twilio();
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    let note = |what: &'static str| {
        let log = Arc::clone(&log);
        move |event: InboundEvent| {
            let log = Arc::clone(&log);
            async move {
                let InboundEvent::Message(m) = event else {
                    return Ok(());
                };
                log.lock().unwrap().push(format!("{what}: {}", m.id));
                Ok(())
            }
        }
    };
    let router = Router::new()
        .route(
            Route::named("prices").messages().keyword(["Preise", "prices"]),
            note("prices"),
        )
        .route(Route::named("tracking").button("track"), note("tracking"))
        .hand_over(
            Route::named("contracts")
                .messages()
                .mentions(["vertrag", "contract"]),
            note("people"),
        )
        .route(
            Route::named("sms").channel(ChannelKind::Sms).messages(),
            note("sms"),
        );

    let anna = sandbox.whatsapp_user("+4917611111111");
    anna.sends_text("Preise?");
    anna.taps_button("track", "Track my parcel");
    anna.sends_text("Frage zu meinem Vertrag");
    anna.sends_text("Hallo? Noch da?"); // still with people
    let mut outcomes = Vec::new();
    for event in sandbox.events(&whatsapp) {
        outcomes.push(router.dispatch(event).await.unwrap());
    }
    assert_eq!(
        outcomes,
        [
            Dispatched::Handled {
                route: "prices".into()
            },
            Dispatched::Handled {
                route: "tracking".into()
            },
            Dispatched::HandedOver,
            Dispatched::HandedOver,
        ]
    );
    assert!(router.is_handed_over(&ChannelKind::WhatsApp, "+4917611111111"));

    // Released: the routes answer again.
    assert!(router.release(&ChannelKind::WhatsApp, "+4917611111111"));
    anna.sends_text("prices");
    let again = sandbox.events(&whatsapp).remove(0);
    assert_eq!(
        router.dispatch(again).await.unwrap(),
        Dispatched::Handled {
            route: "prices".into()
        }
    );

    // Another channel's route; unmatched events without a default.
    sandbox
        .sms_user("+4915122222222")
        .sends_text("Wann kommt der Techniker?");
    let sms_events = sandbox.events(&sms);
    assert_eq!(
        router.dispatch(sms_events[0].clone()).await.unwrap(),
        Dispatched::Handled { route: "sms".into() }
    );
    anna.sends_text("Danke!");
    let thanks = sandbox.events(&whatsapp).remove(0);
    assert_eq!(router.dispatch(thanks).await.unwrap(), Dispatched::Unmatched);

    let log = log.lock().unwrap();
    assert_eq!(log.iter().filter(|l| l.starts_with("people")).count(), 2);
    assert_eq!(log.len(), 6);
}

#[tokio::test]
async fn a_default_handler_takes_the_rest() {
    let sandbox = Sandbox::start().await.unwrap();
    let whatsapp = sandbox.whatsapp();
    let router = Router::new()
        .route(Route::named("never").when(|_| false), |_| async { Ok(()) })
        .otherwise(|_| async { Ok(()) });
    sandbox.whatsapp_user("+4917611111111").sends_text("hi");
    let event = sandbox.events(&whatsapp).remove(0);
    assert_eq!(
        router.dispatch(event).await.unwrap(),
        Dispatched::Handled {
            route: "otherwise".into()
        }
    );
}
