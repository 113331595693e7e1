//! Muting the open conversation: none of the user's devices shows a notification or gets a
//! push for its messages, for a while or until they unmute. Their other devices follow at once
//! (`conversation:muted`); nobody else sees it.

use leptos::prelude::*;
use protocol::Conversation;

use super::pane::alert;
use crate::conversations::{mute_conversation, unmute_conversation};
use crate::live::{Live, OpenChat};
use crate::session::failure_in;

/// How long a mute lasts, as the menu offers it: minutes, or until unmuted.
const CHOICES: [(&str, Option<u32>); 4] = [
    ("For 1 hour", Some(60)),
    ("For 8 hours", Some(8 * 60)),
    ("For 1 week", Some(7 * 24 * 60)),
    ("Until I unmute", None),
];

#[component]
pub fn MuteButton(chat: OpenChat, live: Live) -> impl IntoView {
    let id = chat.id.0;
    let menu = RwSignal::new(false);
    let mute = Action::new(move |minutes: &Option<u32>| mute_conversation(id, *minutes));
    let unmute = Action::new(move |_: &()| unmute_conversation(id));
    // The answer shows at once; the socket's `conversation:muted` says the same.
    let apply = move |answer: Option<Result<Conversation, ServerFnError>>| {
        if let Some(Ok(now)) = answer {
            chat.details.update(|c| {
                c.muted = now.muted;
                c.muted_until = now.muted_until;
            });
        }
    };
    Effect::new(move |_| apply(mute.value().get()));
    Effect::new(move |_| apply(unmute.value().get()));
    #[cfg(feature = "hydrate")]
    end_on_time(chat, live);
    #[cfg(not(feature = "hydrate"))]
    let _ = live;
    let failure = move || failure_in(mute.value()).or_else(|| failure_in(unmute.value()));
    let muted = Memo::new(move |_| chat.details.with(|c| c.muted));
    // The end of a mute in the reader's own time, once in the browser (the server renders UTC,
    // and the page must hydrate what the server sent).
    let in_browser = RwSignal::new(false);
    Effect::new(move |_| in_browser.set(true));
    let until = move || {
        chat.details.with(|c| match c.muted_until.as_deref() {
            None => "Muted until you unmute it".to_owned(),
            Some(at) => format!("Muted until {}", shown_time(at, in_browser.get())),
        })
    };
    let busy = move || mute.pending().get() || unmute.pending().get();
    view! {
        <div class="mute">
            <Show
                when=move || muted.get()
                fallback=move || {
                    view! {
                        <button
                            type="button"
                            class="ghost"
                            aria-haspopup="menu"
                            aria-expanded=move || menu.get().to_string()
                            disabled=busy
                            on:click=move |_| menu.update(|open| *open = !*open)
                        >
                            "Mute"
                        </button>
                    }
                }
            >
                <button
                    type="button"
                    class="ghost"
                    title=until
                    disabled=busy
                    on:click=move |_| {
                        unmute.dispatch(());
                    }
                >
                    <BellOff />
                    " Unmute"
                </button>
            </Show>
            <Show when=move || menu.get() && !muted.get()>
                <div class="mute-menu" role="menu" aria-label="Mute notifications">
                    {CHOICES
                        .map(|(label, minutes)| {
                            view! {
                                <button
                                    type="button"
                                    role="menuitem"
                                    class="ghost"
                                    on:click=move |_| {
                                        menu.set(false);
                                        mute.dispatch(minutes);
                                    }
                                >
                                    {label}
                                </button>
                            }
                        })
                        .collect_view()}
                </div>
            </Show>
            {move || alert(failure())}
        </div>
    }
}

/// A timed mute ends by itself: when it does, the window shows it and the list is read again
/// (the server then lists the conversation unmuted).
#[cfg(feature = "hydrate")]
fn end_on_time(chat: OpenChat, live: Live) {
    Effect::new(move |_| {
        let Some(until) = chat
            .details
            .with(|c| c.muted.then(|| c.muted_until.clone()).flatten())
        else {
            return;
        };
        let left = js_sys::Date::parse(&until) - js_sys::Date::now();
        // Not a time, or further off than a browser's timer reaches (24.8 days): the page is
        // read again before then anyway.
        if left.is_nan() || left >= f64::from(i32::MAX) {
            return;
        }
        set_timeout(
            move || {
                let _ = chat.details.try_update(|c| {
                    if c.muted_until.as_deref() == Some(until.as_str()) {
                        c.muted = false;
                        c.muted_until = None;
                    }
                });
                live.reload_list();
            },
            std::time::Duration::from_millis(left.max(0.0) as u64),
        );
    });
}

/// A bell struck through: muted. Drawn, not an emoji, which a system without an emoji font
/// shows as an empty box. (Feather's `bell-off`, MIT.)
#[component]
pub fn BellOff() -> impl IntoView {
    view! {
        <svg
            class="icon"
            viewBox="0 0 24 24"
            fill="none"
            stroke="currentColor"
            stroke-width="2"
            stroke-linecap="round"
            stroke-linejoin="round"
            aria-hidden="true"
        >
            <path d="M13.73 21a2 2 0 0 1-3.46 0" />
            <path d="M18.63 13A17.89 17.89 0 0 1 18 8" />
            <path d="M6.26 6.26A5.78 5.78 0 0 0 6 8c0 7-3 9-3 9h14" />
            <path d="M18 8a6 6 0 0 0-9.33-5" />
            <path d="M1 1l22 22" />
        </svg>
    }
}

/// An RFC 3339 time as a person reads it: in their own time zone and language in the browser,
/// in UTC before.
fn shown_time(at: &str, in_browser: bool) -> String {
    #[cfg(feature = "hydrate")]
    if in_browser {
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_str(at));
        let options = js_sys::Object::new();
        for (key, value) in [
            ("weekday", "short"),
            ("hour", "numeric"),
            ("minute", "2-digit"),
        ] {
            let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
        }
        return date.to_locale_string("default", &options).into();
    }
    let _ = in_browser;
    // "2026-12-08T05:00:00.000Z" → "2026-12-08 05:00 UTC"
    match (at.get(..10), at.get(11..16)) {
        (Some(day), Some(time)) => format!("{day} {time} UTC"),
        _ => at.to_owned(),
    }
}
