//! Desktop and phone notifications of new messages, through the browser's `Notification`:
//! only once the user has allowed them (asked from a button, as browsers want a click), and only
//! for what they cannot see (another conversation, or the page hidden). Where a page may not
//! show one itself (Android's browsers), the service worker (`public/sw.js`) shows it, and
//! tells the page what to open when it is clicked. Where the server pushes (Web Push), the
//! browser is subscribed too, so messages reach it with the app closed; the worker shows those.

use std::cell::RefCell;
use std::rc::Rc;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    MessageEvent, Notification, NotificationOptions, NotificationPermission, PushManager,
    PushSubscription, PushSubscriptionOptionsInit, ServiceWorkerRegistration,
};

/// Whether this browser has notifications at all (an old one, or an iPhone's page not added
/// to its home screen, has none).
fn supported() -> bool {
    js_sys::Reflect::has(
        &leptos::prelude::window(),
        &JsValue::from_str("Notification"),
    )
    .unwrap_or(false)
}

/// The user muted the conversation (as the page last heard), and the mute has not run out.
pub fn muted(conversation: &protocol::Conversation) -> bool {
    conversation.muted
        && conversation
            .muted_until
            .as_deref()
            .is_none_or(|until| js_sys::Date::parse(until) > js_sys::Date::now())
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
        let granted = permission.as_string().as_deref() == Some("granted");
        if granted {
            subscribe_to_pushes();
        }
        answered(granted);
    });
    let _ = Notification::request_permission_with_permission_callback(then.unchecked_ref());
}

/// The page's service worker container, where the browser has one (only on https or the
/// local host).
fn workers() -> Option<web_sys::ServiceWorkerContainer> {
    let navigator = leptos::prelude::window().navigator();
    js_sys::Reflect::has(&navigator, &JsValue::from_str("serviceWorker"))
        .unwrap_or(false)
        .then(|| navigator.service_worker())
}

/// Opens a path of the app.
type Open = Rc<dyn Fn(String)>;

thread_local! {
    /// [`Open`] for the shell drawn last (a new one replaces it).
    static OPEN: RefCell<Option<Open>> = RefCell::new(None);
}

/// Registers the service worker, and has `open` called with the path of a notification it
/// says was clicked. The worker and its listener are set up once per page load; a shell drawn
/// again only takes `open`'s place.
pub fn start_worker(open: impl Fn(String) + 'static) {
    let again = OPEN.with(|current| current.replace(Some(Rc::new(open))).is_some());
    let Some(workers) = workers().filter(|_| !again) else {
        return;
    };
    let _ = workers.register("/sw.js");
    subscribe_to_pushes();
    let heard = Closure::<dyn Fn(MessageEvent)>::new(move |event: MessageEvent| {
        let path = js_sys::Reflect::get(&event.data(), &JsValue::from_str("open"))
            .ok()
            .and_then(|path| path.as_string())
            .filter(|path| path.starts_with('/') && !path.starts_with("//"));
        // Taken out first: opening may draw a shell, which replaces it.
        if let (Some(path), Some(open)) = (path, OPEN.with(|open| open.borrow().clone())) {
            open(path);
        }
    });
    // `onmessage` rather than a listener: setting it also starts the delivery of messages.
    workers.set_onmessage(Some(heard.as_ref().unchecked_ref()));
    // As long as the page: the one handler.
    heard.forget();
}

/// Shows `body` under `title`, replacing the one shown before for the same conversation
/// (`tag`); a click brings the page to the front and opens `path`, through `clicked`.
pub fn show(title: &str, body: &str, tag: &str, path: String, clicked: impl FnOnce() + 'static) {
    if !supported() || Notification::permission() != NotificationPermission::Granted {
        return;
    }
    let options = NotificationOptions::new();
    options.set_body(body);
    options.set_tag(tag);
    let Ok(notification) = Notification::new_with_options(title, &options) else {
        // "Illegal constructor": only a service worker may show one here.
        options.set_data(&JsValue::from_str(&path));
        show_from_worker(title.to_owned(), options);
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

/// Once notifications are allowed, subscribes this browser to the server's pushes and tells
/// the server: at each page load, as a subscription can change or have been dropped with a
/// sign-out. Quietly nothing where the browser or the server has no push.
fn subscribe_to_pushes() {
    if !supported() || Notification::permission() != NotificationPermission::Granted {
        return;
    }
    let Some(ready) = workers().and_then(|workers| workers.ready().ok()) else {
        return;
    };
    leptos::task::spawn_local(async move {
        let _ = subscribe(ready).await;
    });
}

async fn subscribe(ready: js_sys::Promise) -> Option<()> {
    let key = crate::push::push_key().await.ok()??;
    let registration: ServiceWorkerRegistration =
        JsFuture::from(ready).await.ok()?.unchecked_into();
    let manager = registration.push_manager().ok()?;
    let options = PushSubscriptionOptionsInit::new();
    options.set_user_visible_only(true);
    options.set_application_server_key_opt_str(Some(&key));
    let subscription = match subscribe_with(&manager, &options).await {
        Some(subscription) => subscription,
        None => {
            // One made with another key (the server's changed) stands in the way: replaced.
            let old = JsFuture::from(manager.get_subscription().ok()?)
                .await
                .ok()?;
            let old: PushSubscription = old.dyn_into().ok()?;
            JsFuture::from(old.unsubscribe().ok()?).await.ok()?;
            subscribe_with(&manager, &options).await?
        }
    };
    // Its `toJSON()`: the endpoint and keys in base64url.
    let json = js_sys::JSON::stringify(&subscription).ok()?.as_string()?;
    let subscription: protocol::PushSubscription = serde_json::from_str(&json).ok()?;
    let keys = subscription.keys;
    crate::push::save_push_subscription(subscription.endpoint, keys.p256dh, keys.auth)
        .await
        .ok()
}

async fn subscribe_with(
    manager: &PushManager,
    options: &PushSubscriptionOptionsInit,
) -> Option<JsValue> {
    JsFuture::from(manager.subscribe_with_options(options).ok()?)
        .await
        .ok()
}

/// Has the service worker show a notification once it is ready; its click is the worker's.
fn show_from_worker(title: String, options: NotificationOptions) {
    let Some(ready) = workers().and_then(|workers| workers.ready().ok()) else {
        return;
    };
    leptos::task::spawn_local(async move {
        let Ok(registration) = JsFuture::from(ready).await else {
            return;
        };
        let registration: ServiceWorkerRegistration = registration.unchecked_into();
        let _ = registration.show_notification_with_options(&title, &options);
    });
}
