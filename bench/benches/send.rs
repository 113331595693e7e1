//! A send as the user waits for it: `Chat::send_message` on a real SQLite file with the
//! server's durable settings, so each figure includes seq allocation, the insert, the change
//! record and the commit's fsync. Sixteen sends at once show group commit: the writer thread
//! stores whatever is queued in one transaction, so they share a commit instead of queueing
//! behind sixteen.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use futures::future::join_all;
use protocol::{ConversationKind, CreateConversation, SendMessage};

mod fixture;

const BODY: &str = "Sure, I can look at your proof after class. Send me the part where the \
                    induction step breaks and I'll annotate it.";
/// Sends in flight at once in the concurrent variant.
const CONCURRENT: u64 = 16;

fn send(c: &mut Criterion) {
    let rt = fixture::runtime();
    let (chat, _dir, ana, ben, conversation) = rt.block_on(async {
        let (chat, dir) = fixture::start().await;
        let ana = fixture::register(&chat, "ana").await;
        let ben = fixture::register(&chat, "ben").await;
        let direct = CreateConversation {
            kind: ConversationKind::Direct,
            user_id: Some(ben),
            title: None,
            user_ids: None,
            post_id: None,
        };
        let (conversation, _) = chat
            .create_conversation(ana, direct)
            .await
            .expect("creating the direct conversation");
        (chat, dir, ana, ben, conversation.id)
    });
    let chat = &chat;
    // A fresh client_id each time: a reused one is answered from the first send, not stored.
    let mut next = 0u64;
    let mut request = move || {
        next += 1;
        SendMessage {
            body: BODY.to_owned(),
            client_id: Some(format!("bench-{next}")),
        }
    };

    let mut group = c.benchmark_group("send");
    group.throughput(Throughput::Elements(1));
    group.bench_function("one", |b| {
        b.to_async(&rt).iter(|| {
            let request = request();
            async move {
                let sent = chat
                    .send_message(ana, conversation, request)
                    .await
                    .expect("sending");
                assert!(sent.created);
                black_box(sent)
            }
        })
    });
    group.throughput(Throughput::Elements(CONCURRENT));
    group.bench_function(format!("{CONCURRENT}_concurrent"), |b| {
        b.to_async(&rt).iter(|| {
            // Both participants talk at once, as in a lively conversation.
            let sends = (0..CONCURRENT).map(|i| {
                let me = if i % 2 == 0 { ana } else { ben };
                chat.send_message(me, conversation, request())
            });
            let sends = join_all(sends);
            async move {
                for sent in sends.await {
                    assert!(sent.expect("sending").created);
                }
            }
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20);
    targets = send
}
criterion_main!(benches);
