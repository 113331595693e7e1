//! The browser's connection to `/ws`. It authenticates with the session cookie, and when the
//! connection drops it reconnects with exponential backoff and jitter, so that a server restart
//! or a phone leaving the network is not met by every client at once. `on_open` runs at every
//! `connection:established`: the place to join and to catch up on what happened while away.

use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::time::Duration;

use leptos::prelude::set_timeout;
use protocol::{ClientEvent, ServerEvent};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, WebSocket};

/// The first wait before reconnecting; it doubles at each failure up to [`LONGEST_WAIT`].
const FIRST_WAIT: Duration = Duration::from_millis(500);
const LONGEST_WAIT: Duration = Duration::from_secs(30);

type Handler = Rc<dyn Fn(ServerEvent)>;
type Opened = Rc<dyn Fn(bool)>;
type Closed = Rc<dyn Fn()>;

struct Inner {
    socket: Option<WebSocket>,
    wait: Duration,
    /// Closed for good: the page went away.
    stopped: bool,
    /// The connection has been established at least once: the next time is a reconnect.
    was_open: bool,
    on_open: Opened,
    on_event: Handler,
    on_close: Closed,
    /// The browser's callbacks, alive as long as their socket.
    callbacks: Vec<Closure<dyn FnMut(web_sys::Event)>>,
}

/// A live connection that reconnects by itself until [`Socket::stop`].
#[derive(Clone)]
pub struct Socket(Rc<RefCell<Inner>>);

impl Socket {
    /// Connects; `on_open(reconnected)` runs at each `connection:established`, `on_event` for
    /// every other event, `on_close` when a connection is lost (a new one is on its way).
    pub fn open(
        on_open: impl Fn(bool) + 'static,
        on_event: impl Fn(ServerEvent) + 'static,
        on_close: impl Fn() + 'static,
    ) -> Self {
        let socket = Self(Rc::new(RefCell::new(Inner {
            socket: None,
            wait: FIRST_WAIT,
            stopped: false,
            was_open: false,
            on_open: Rc::new(on_open),
            on_event: Rc::new(on_event),
            on_close: Rc::new(on_close),
            callbacks: Vec::new(),
        })));
        socket.connect();
        socket
    }

    /// Sends `event` if connected; news missed while not connected is caught up by `on_open`.
    pub fn send(&self, event: &ClientEvent) {
        let inner = self.0.borrow();
        if let (Some(ws), Ok(text)) = (&inner.socket, serde_json::to_string(event)) {
            if ws.ready_state() == WebSocket::OPEN {
                let _ = ws.send_with_str(&text);
            }
        }
    }

    /// Closes the connection for good.
    pub fn stop(&self) {
        let mut inner = self.0.borrow_mut();
        inner.stopped = true;
        if let Some(ws) = inner.socket.take() {
            // Detached first: the browser must not call a callback after it is dropped.
            ws.set_onmessage(None);
            ws.set_onclose(None);
            let _ = ws.close();
        }
        inner.callbacks.clear();
    }

    fn connect(&self) {
        let Ok(ws) = WebSocket::new(&url()) else {
            self.retry();
            return;
        };
        let weak = Rc::downgrade(&self.0);
        let on_message = callback(&weak, |socket, event| {
            let Some(text) = event
                .dyn_ref::<MessageEvent>()
                .and_then(|m| m.data().as_string())
            else {
                return;
            };
            let Ok(event) = serde_json::from_str::<ServerEvent>(&text) else {
                return;
            };
            if matches!(event, ServerEvent::ConnectionEstablished { .. }) {
                let (on_open, reconnected) = {
                    let mut inner = socket.0.borrow_mut();
                    inner.wait = FIRST_WAIT;
                    let reconnected = std::mem::replace(&mut inner.was_open, true);
                    (inner.on_open.clone(), reconnected)
                };
                on_open(reconnected);
            } else {
                let on_event = socket.0.borrow().on_event.clone();
                on_event(event);
            }
        });
        let on_close = callback(&weak, |socket, _| {
            let on_close = socket.0.borrow().on_close.clone();
            on_close();
            socket.retry();
        });
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        let mut inner = self.0.borrow_mut();
        inner.socket = Some(ws);
        inner.callbacks = vec![on_message, on_close];
    }

    /// Reconnects after the current wait, give or take a quarter, and doubles the wait.
    fn retry(&self) {
        let wait = {
            let mut inner = self.0.borrow_mut();
            if inner.stopped {
                return;
            }
            inner.socket = None;
            let wait = inner.wait;
            inner.wait = (wait * 2).min(LONGEST_WAIT);
            wait.mul_f64(0.75 + js_sys::Math::random() / 2.0)
        };
        let weak = Rc::downgrade(&self.0);
        set_timeout(
            move || {
                if let Some(inner) = weak.upgrade() {
                    let socket = Socket(inner);
                    if !socket.0.borrow().stopped {
                        socket.connect();
                    }
                }
            },
            wait,
        );
    }
}

/// A browser callback that reaches the socket while it exists.
fn callback(
    weak: &Weak<RefCell<Inner>>,
    run: impl Fn(&Socket, web_sys::Event) + 'static,
) -> Closure<dyn FnMut(web_sys::Event)> {
    let weak = weak.clone();
    Closure::new(move |event: web_sys::Event| {
        if let Some(inner) = weak.upgrade() {
            run(&Socket(inner), event);
        }
    })
}

/// `/ws` on this page's host, over TLS when the page is.
fn url() -> String {
    let location = leptos::prelude::window().location();
    let scheme = match location.protocol().as_deref() {
        Ok("https:") => "wss",
        _ => "ws",
    };
    let host = location.host().unwrap_or_default();
    format!("{scheme}://{host}/ws")
}
