//! Sign-in and sign-up. Plain HTML forms posting to server functions: they work before the WASM
//! has loaded (and without it), and hydrated they submit without a page load.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::session::{error_text, SignIn as SignInFn, SignUp as SignUpFn};

#[component]
pub fn SignIn() -> impl IntoView {
    let action = ServerAction::<SignInFn>::new();
    view! {
        <main class="auth">
            <h1 class="brand">"Confab"</h1>
            <section class="card" aria-labelledby="signin-title">
                <h2 id="signin-title">"Sign in"</h2>
                <ActionForm action>
                    <label for="username">"Username"</label>
                    <input id="username" name="username" autocomplete="username" required />
                    <PasswordField autocomplete="current-password" />
                    <FormError value=action.value() />
                    <button type="submit" disabled=move || action.pending().get()>
                        "Sign in"
                    </button>
                </ActionForm>
                <p class="switch">
                    "New here? " <A href="/signup">"Create an account"</A>
                </p>
            </section>
        </main>
    }
}

#[component]
pub fn SignUp() -> impl IntoView {
    let action = ServerAction::<SignUpFn>::new();
    view! {
        <main class="auth">
            <h1 class="brand">"Confab"</h1>
            <section class="card" aria-labelledby="signup-title">
                <h2 id="signup-title">"Create your account"</h2>
                <ActionForm action>
                    <label for="username">"Username"</label>
                    <input
                        id="username"
                        name="username"
                        autocomplete="username"
                        required
                        minlength="3"
                        maxlength="32"
                        pattern="[A-Za-z0-9][A-Za-z0-9_.\\-]*"
                        aria-describedby="username-hint"
                    />
                    <p id="username-hint" class="hint">
                        "3–32 letters, digits, '_', '.' or '-'."
                    </p>
                    <label for="display_name">"Display name"</label>
                    <input
                        id="display_name"
                        name="display_name"
                        autocomplete="name"
                        required
                        maxlength="64"
                    />
                    <PasswordField autocomplete="new-password" />
                    <FormError value=action.value() />
                    <button type="submit" disabled=move || action.pending().get()>
                        "Create account"
                    </button>
                </ActionForm>
                <p class="switch">
                    "Already have an account? " <A href="/signin">"Sign in"</A>
                </p>
            </section>
        </main>
    }
}

/// A password input with a show/hide toggle (handy on a phone keyboard).
#[component]
fn PasswordField(autocomplete: &'static str) -> impl IntoView {
    let (visible, set_visible) = signal(false);
    view! {
        <label for="password">"Password"</label>
        <div class="password">
            <input
                id="password"
                name="password"
                type=move || if visible.get() { "text" } else { "password" }
                autocomplete=autocomplete
                required
                minlength="8"
                maxlength="128"
            />
            <button
                type="button"
                class="ghost"
                aria-pressed=move || visible.get().to_string()
                on:click=move |_| set_visible.update(|v| *v = !*v)
            >
                {move || if visible.get() { "Hide password" } else { "Show password" }}
            </button>
        </div>
    }
}

#[component]
fn FormError(#[prop(into)] value: Signal<Option<Result<(), ServerFnError>>>) -> impl IntoView {
    move || {
        value.get().and_then(Result::err).map(|e| {
            view! {
                <p class="error" role="alert">
                    {error_text(&e)}
                </p>
            }
        })
    }
}
