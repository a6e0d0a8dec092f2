//! Fields that real payloads carry and a user could need survive parsing, typed: WhatsApp
//! groups, parent user ids, referred products, location links, error links, sign-up ids, a
//! sender whose `from` is no phone number, numeric account ids; X Activity `includes`.
//! The payloads are written here after the shapes in Meta's and X's documentation.

use serde_json::json;
use switchboard::whatsapp::webhook::{Change, Received, parse};
use switchboard::{InboundContent, InboundEvent};

fn whatsapp(value: serde_json::Value) -> switchboard::whatsapp::webhook::Notification {
    let body = json!({"object": "whatsapp_business_account",
        "entry": [{"id": 8856996819413533_u64, "changes": [{"field": "messages", "value": value}]}]});
    parse(body.to_string().as_bytes()).unwrap()
}

fn messages(
    n: &switchboard::whatsapp::webhook::Notification,
) -> &switchboard::whatsapp::webhook::MessagesValue {
    match &n.entries[0].changes[0] {
        Change::Messages(value) => value,
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_group_message_is_not_a_one_to_one_message() {
    let n = whatsapp(json!({"messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "+250 788 123 200", "phone_number_id": "1234567890"},
        "contacts": [{"profile": {"name": "Kerry Fisher"}, "wa_id": "5678"}],
        "messages": [{"from": "5678", "group_id": "555555555", "id": "wamid.g1", "timestamp": "1454119029",
            "type": "text", "text": {"body": "Hello World, group message"}}]}));
    assert_eq!(
        n.entries[0].id, "8856996819413533",
        "a numeric account id is read"
    );
    assert_eq!(messages(&n).messages[0].group_id.as_deref(), Some("555555555"));
    let events = n.into_events();
    let InboundEvent::Message(message) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(message.group.as_deref(), Some("555555555"));
    // "5678" is no phone number, but it is who wrote: kept as the provider's id.
    assert_eq!(message.from.user_id.as_ref().map(|u| u.as_str()), Some("5678"));
    assert_eq!(message.from.name.as_deref(), Some("Kerry Fisher"));
}

#[test]
fn group_statuses_name_the_group_and_the_participant() {
    let n = whatsapp(json!({"metadata": {"phone_number_id": "1"},
        "statuses": [{"id": "wamid.s", "status": "read", "timestamp": "1454119029", "recipient_id": "120363040000000000",
            "recipient_type": "group", "recipient_participant_id": "4917612345678"}]}));
    let status = &messages(&n).statuses[0];
    assert_eq!(status.recipient_type.as_deref(), Some("group"));
    let events = n.into_events();
    let InboundEvent::Status(update) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(update.group.as_deref(), Some("120363040000000000"));
    assert_eq!(update.recipient.as_deref(), Some("4917612345678"));
}

#[test]
fn usernames_products_locations_and_error_links_are_kept() {
    let n = whatsapp(json!({"metadata": {"phone_number_id": "1"},
    "contacts": [{"profile": {"name": "Kerry", "username": "kfisher"}, "user_id": "US.1234", "parent_user_id": "US.ENT.5678"}],
    "messages": [
        {"from_user_id": "US.1234", "from_parent_user_id": "US.ENT.5678", "id": "wamid.u", "timestamp": "1454119029",
            "type": "text", "text": {"body": "Is this in stock?"},
            "context": {"from": "16505553333", "id": "wamid.p", "referred_product": {"catalog_id": "CATALOG_ID", "product_retailer_id": "PRODUCT_ID"}}},
        {"from": "16505551234", "id": "wamid.l", "timestamp": "1454119029", "type": "location",
            "location": {"latitude": 38.9, "longitude": -77.0, "name": "Shop", "address": "Main St", "url": "https://example.com/shop"}},
        {"from": "16505551234", "id": "wamid.x", "timestamp": "1454119029", "type": "unsupported",
            "errors": [{"code": 131051, "title": "Message type unknown", "href": "/documentation/business-messaging/whatsapp/support/error-codes"}]}
    ]}));
    let value = messages(&n);
    let first = &value.messages[0];
    assert_eq!(first.from_parent_user_id.as_deref(), Some("US.ENT.5678"));
    let product = first.context.as_ref().unwrap().referred_product.as_ref().unwrap();
    assert_eq!(product.product_retailer_id.as_deref(), Some("PRODUCT_ID"));
    let Received::Location(pin) = &value.messages[1].content else {
        panic!()
    };
    assert_eq!(pin.url.as_deref(), Some("https://example.com/shop"));
    assert_eq!(
        value.messages[2].errors[0].href.as_deref(),
        Some("/documentation/business-messaging/whatsapp/support/error-codes")
    );
    let events = n.into_events();
    let InboundEvent::Message(located) = &events[1] else {
        panic!()
    };
    let InboundContent::Location(pin) = &located.content else {
        panic!()
    };
    assert_eq!(pin.url.as_deref(), Some("https://example.com/shop"));
}

#[test]
fn a_sign_up_keeps_its_link_id() {
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "user_preferences",
        "value": {"messaging_product": "whatsapp", "metadata": {"phone_number_id": "1"},
            "contacts": [{"wa_id": "16505551234"}],
            "user_preferences": [{"wa_id": "16505551234", "detail": "User signed up via signup link",
                "category": "marketing_messages", "value": "signup", "signup_id": "13176843987434774", "timestamp": 1731705721}]}}]}]});
    let n = parse(body.to_string().as_bytes()).unwrap();
    let Change::UserPreferences(value) = &n.entries[0].changes[0] else {
        panic!()
    };
    assert_eq!(
        value.user_preferences[0].signup_id.as_deref(),
        Some("13176843987434774")
    );
}

#[cfg(feature = "twitter")]
#[test]
fn x_activity_events_keep_their_includes() {
    use switchboard::twitter::webhook::{Delivery, parse};
    let body = json!({"data": {"event_uuid": "2080761390344937796", "filter": {"user_id": "1111111111111111111"},
        "event_type": "dm.received", "tag": "dms",
        "payload": {"dm_event_id": "1"},
        "includes": {"users": [{"id": "2244994945", "username": "XDevelopers"}]}}});
    let Delivery::Activity(event) = parse(body.to_string().as_bytes()).unwrap() else {
        panic!()
    };
    assert_eq!(event.includes["users"][0]["username"], "XDevelopers");
}

#[cfg(feature = "sms")]
#[test]
fn twilio_button_taps_and_business_scoped_senders() {
    use switchboard::sms::twilio::webhook::parse;
    let tap = "SmsMessageSid=SMe2&NumMedia=0&SmsStatus=received&Body=Confirm&ButtonText=Confirm&ButtonPayload=order-47-yes&To=whatsapp:%2B12028831111&MessageSid=SMe2&AccountSid=AC1&From=whatsapp:%2B14133881111&ApiVersion=2010-04-01";
    let events = parse(tap.as_bytes()).unwrap().into_events(tap.as_bytes());
    let InboundEvent::Message(message) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(
        message.content,
        InboundContent::ButtonReply {
            id: "order-47-yes".into(),
            title: "Confirm".into()
        }
    );
    assert_eq!(
        message.from.phone.as_ref().map(|p| p.as_str()),
        Some("+14133881111")
    );

    // No number shared: the business-scoped id is the sender.
    let bsuid = "SmsMessageSid=SMe3&NumMedia=0&Body=Msg&To=whatsapp:%2B12028831111&MessageSid=SMe3&AccountSid=AC1&From=whatsapp:US.1234&ExternalUserId=whatsapp:US.1234";
    let events = parse(bsuid.as_bytes()).unwrap().into_events(bsuid.as_bytes());
    let InboundEvent::Message(message) = &events[0] else {
        panic!()
    };
    assert_eq!(message.from.phone, None);
    assert_eq!(message.from.user_id.as_ref().map(|u| u.as_str()), Some("US.1234"));
    // A number and the id: both kept.
    let both = "MessageSid=SMe4&Body=Msg&To=whatsapp:%2B12028831111&From=whatsapp:%2B14133881111&ExternalUserId=whatsapp:US.1234";
    let events = parse(both.as_bytes()).unwrap().into_events(both.as_bytes());
    let InboundEvent::Message(message) = &events[0] else {
        panic!()
    };
    assert!(message.from.phone.is_some());
    assert_eq!(message.from.user_id.as_ref().map(|u| u.as_str()), Some("US.1234"));
}

/// A signed status callback `failed` with 21610 names its recipient, so the opt-out it
/// stands for can be recorded under that number.
#[cfg(feature = "sms")]
#[test]
fn twilio_status_callbacks_name_the_recipient() {
    let form = "MessageSid=SM9&MessageStatus=failed&ErrorCode=21610&To=%2B4917612345678&From=%2B4915112345678&AccountSid=AC1";
    let events = switchboard::sms::twilio::webhook::parse(form.as_bytes())
        .unwrap()
        .into_events(form.as_bytes());
    let InboundEvent::Status(status) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(status.recipient.as_deref(), Some("+4917612345678"));
    assert_eq!(status.errors[0].class, switchboard::ErrorClass::OptedOut);
}
