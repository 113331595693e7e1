//! Starting a conversation (`/new`): find people by name, then message one of them directly,
//! or name a group and start it with everyone chosen.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use protocol::{User, UserId};

use super::pane::{alert, Pane};
use super::people_search::PeopleSearch;
use crate::conversations::start_conversation;
use crate::session::failure_in;

#[component]
pub fn NewConversation() -> impl IntoView {
    let chosen = RwSignal::new(Vec::<User>::new());
    let title = RwSignal::new(String::new());
    let start = Action::new(|(ids, title): &(Vec<i64>, String)| {
        start_conversation(ids.clone(), title.clone())
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(id)) = start.value().get() {
            navigate(&format!("/c/{id}"), Default::default());
        }
    });

    let is_chosen = Callback::new(move |id: UserId| chosen.with(|c| c.iter().any(|u| u.id == id)));
    let toggle = move |user: User| {
        chosen.update(|c| {
            if let Some(at) = c.iter().position(|u| u.id == user.id) {
                c.remove(at);
            } else {
                c.push(user);
            }
        });
    };
    let group = move || !title.with(|t| t.trim().is_empty());
    let ready = move || match chosen.with(Vec::len) {
        0 => false,
        1 => true,
        _ => group(),
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        if ready() && !start.pending().get_untracked() {
            let ids = chosen.with_untracked(|c| c.iter().map(|u| u.id.0).collect());
            start.dispatch((ids, title.get_untracked()));
        }
    };

    view! {
        <Pane title="New conversation" class="new-conversation">
            <form class="pane-body" on:submit=submit>
                <PeopleSearch
                    input_id="people-search"
                    label="Find people"
                    pick=Callback::new(toggle)
                    chosen=is_chosen
                />
                <Show when=move || !chosen.with(Vec::is_empty)>
                    <ul class="chosen" aria-label="Chosen">
                        <For
                            each=move || chosen.get()
                            key=|u| u.id
                            children=move |user| {
                                let name = user.display_name.clone();
                                view! {
                                    <li>
                                        {name.clone()}
                                        <button
                                            type="button"
                                            class="ghost"
                                            aria-label=format!("Remove {name}")
                                            on:click=move |_| toggle(user.clone())
                                        >
                                            "×"
                                        </button>
                                    </li>
                                }
                            }
                        />
                    </ul>
                </Show>
                <label for="group-title">"Group name"</label>
                <input
                    id="group-title"
                    maxlength="100"
                    placeholder="Only for a group"
                    prop:value=title
                    on:input=move |ev| title.set(event_target_value(&ev))
                />
                <p class="hint">
                    "Choose one person to message them directly, or name a group to start it with everyone chosen."
                </p>
                <button type="submit" disabled=move || !ready() || start.pending().get()>
                    {move || if group() { "Create group" } else { "Start chat" }}
                </button>
                {move || alert(failure_in(start.value()))}
            </form>
        </Pane>
    }
}
