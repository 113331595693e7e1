//! Desktop and phone notifications of new messages, through the browser's `Notification`:
//! only once the user has allowed them (asked from a button, as browsers want a click), and only
//! for what they cannot see (another conversation, or the page hidden).

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Notification, NotificationOptions, NotificationPermission};

/// Whether this browser has notifications at all (an old one, or an iPhone's page not added
/// to its home screen, has none).
fn supported() -> bool {
    js_sys::Reflect::has(
        &leptos::prelude::window(),
        &JsValue::from_str("Notification"),
    )
    .unwrap_or(false)
}

/// The user may still be asked.
pub fn askable() -> bool {
    supported() && Notification::permission() == NotificationPermission::Default
}

/// Asks the user; `answered` hears whether they allowed notifications.
pub fn ask(answered: impl FnOnce(bool) + 'static) {
    if !supported() {
        return;
    }
    // Called once, by every browser that has notifications (older Safari takes no promise).
    let then = Closure::once_into_js(move |permission: JsValue| {
        answered(permission.as_string().as_deref() == Some("granted"));
    });
    let _ = Notification::request_permission_with_permission_callback(then.unchecked_ref());
}

/// Shows `body` under `title`, replacing the one shown before for the same conversation
/// (`tag`); a click brings the page to the front and runs `clicked`.
pub fn show(title: &str, body: &str, tag: &str, clicked: impl FnOnce() + 'static) {
    if !supported() || Notification::permission() != NotificationPermission::Granted {
        return;
    }
    let options = NotificationOptions::new();
    options.set_body(body);
    options.set_tag(tag);
    let Ok(notification) = Notification::new_with_options(title, &options) else {
        return;
    };
    let shown = notification.clone();
    let click = Closure::once_into_js(move || {
        let _ = leptos::prelude::window().focus();
        shown.close();
        clicked();
    });
    notification.set_onclick(Some(click.unchecked_ref()));
}
