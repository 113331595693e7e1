//! Finding people by the start of their name or username, to choose them: for a new
//! conversation, or to add to a group.

use leptos::prelude::*;
use protocol::{User, UserId};

use super::pane::alert;
use crate::conversations::find_people;
use crate::session::error_text;

/// A search box and the people it finds, each a button that `pick`s them; `chosen` says which
/// are chosen already (shown pressed).
#[component]
pub fn PeopleSearch(
    /// The field's id (there may be one per page).
    input_id: &'static str,
    label: &'static str,
    pick: Callback<User>,
    chosen: Callback<UserId, bool>,
) -> impl IntoView {
    let query = RwSignal::new(String::new());
    // Answers carry the query they answer: one that comes back after a newer one is dropped.
    let search = Action::new(|q: &String| {
        let q = q.clone();
        async move { (q.clone(), find_people(q).await) }
    });
    let found = move || {
        search.value().with(|answer| match answer {
            Some((q, result)) if *q == query.get() => Some(result.clone()),
            _ => None,
        })
    };
    let results = move || {
        found().map(|result| match result {
            Ok(people) if people.is_empty() => {
                view! { <p class="empty">"No one found."</p> }.into_any()
            }
            Ok(people) => view! {
                <ul class="people" aria-label="People found">
                    {people
                        .into_iter()
                        .map(|user| {
                            let id = user.id;
                            let label = format!("{} @{}", user.display_name, user.username);
                            view! {
                                <li>
                                    <button
                                        type="button"
                                        class="ghost person"
                                        aria-pressed=move || chosen.run(id).to_string()
                                        on:click=move |_| pick.run(user.clone())
                                    >
                                        {label}
                                    </button>
                                </li>
                            }
                        })
                        .collect_view()}
                </ul>
            }
            .into_any(),
            Err(e) => alert(Some(error_text(&e))).into_any(),
        })
    };
    view! {
        <label for=input_id>{label}</label>
        <input
            id=input_id
            type="search"
            autocomplete="off"
            placeholder="Name or username"
            prop:value=query
            on:input=move |ev| {
                let q = event_target_value(&ev);
                query.set(q.clone());
                if !q.trim().is_empty() {
                    search.dispatch(q);
                }
            }
        />
        {results}
    }
}
