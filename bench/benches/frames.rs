//! The socket's hot path without the socket: reading a client's text frame into a
//! `ClientEvent` and writing a `ServerEvent` as JSON. Every message crosses both once per
//! sender and the encode once more per receiving device, so their cost bounds fan-out.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use protocol::{ClientEvent, ConversationId, Message, MessageId, ServerEvent, UserId};

const SEND: &str = r#"{"event":"message:send","data":{"conversation_id":1207,"client_id":"5b0f7c1e-8d2a-4f63-9b1e-2f4c7a9d3e10","body":"Sure, I can look at your proof after class. Send me the part where the induction step breaks and I'll annotate it."}}"#;
const TYPING: &str = r#"{"event":"typing:start","data":{"conversation_id":1207}}"#;
/// Well-formed JSON with bad data: the costliest error, read twice before it is refused.
const MALFORMED: &str = r#"{"event":"message:send","data":{"conversation_id":"1207","client_id":"5b0f7c1e-8d2a-4f63-9b1e-2f4c7a9d3e10","body":"hello"}}"#;

/// A message as the server stores and sends it.
fn message() -> Message {
    Message {
        id: MessageId(482_913),
        conversation_id: ConversationId(1207),
        sender_id: UserId(42),
        client_id: Some("5b0f7c1e-8d2a-4f63-9b1e-2f4c7a9d3e10".to_owned()),
        body: "Sure, I can look at your proof after class. Send me the part where the induction \
               step breaks and I'll annotate it."
            .to_owned(),
        seq: 3581,
        created_at: "2025-03-14T09:26:53.589Z".to_owned(),
        edited_at: None,
        deleted: false,
    }
}

fn decode(c: &mut Criterion) {
    // The inputs are the bench's own: a wrong outcome means the bench is wrong, so fail loudly.
    assert!(matches!(
        ClientEvent::parse(SEND),
        Ok(ClientEvent::Send { .. })
    ));
    assert!(matches!(
        ClientEvent::parse(TYPING),
        Ok(ClientEvent::TypingStart { .. })
    ));
    assert!(ClientEvent::parse(MALFORMED).is_err());

    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(1));
    for (name, frame) in [
        ("message:send", SEND),
        ("typing:start", TYPING),
        ("malformed", MALFORMED),
    ] {
        group.bench_function(name, |b| b.iter(|| ClientEvent::parse(black_box(frame))));
    }
    group.finish();
}

fn encode(c: &mut Criterion) {
    let new = ServerEvent::MessageNew {
        message: message(),
        version: 7204,
    };
    let ack = ServerEvent::MessageAck {
        client_id: "5b0f7c1e-8d2a-4f63-9b1e-2f4c7a9d3e10".to_owned(),
        message: message(),
        version: 7204,
    };
    let mut group = c.benchmark_group("encode");
    group.throughput(Throughput::Elements(1));
    for event in [&new, &ack] {
        group.bench_function(event.name(), |b| b.iter(|| black_box(event).to_json()));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(50);
    targets = decode, encode
}
criterion_main!(benches);
