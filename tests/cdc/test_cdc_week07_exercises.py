"""The week-7 CDC checkers accept right answers and reject wrong ones in plain words."""

from __future__ import annotations

import pytest

from kafkalab import cdc
from kafkalab.exercises import ExerciseFailed
from kafkalab.exercises.week07 import check_apply_change, check_invalidation_keys, check_record_key


def failing(check, *args) -> str:
    with pytest.raises(ExerciseFailed) as info:  # the suite runs in strict mode
        check(*args)
    return str(info.value)


def right_apply(state, event):
    key = cdc.record_key(event["table"], event["key"])
    if key in state and state[key]["position"] >= event["position"]:
        return state
    state[key] = {"position": event["position"], "row": event["after"]}
    return state


def no_dedupe(state, event):
    state[cdc.record_key(event["table"], event["key"])] = {
        "position": event["position"], "row": event["after"]}


def forgets_deletes(state, event):
    key = cdc.record_key(event["table"], event["key"])
    if key in state and state[key]["position"] >= event["position"]:
        return state
    if event["operation"] == "DELETE":
        state.pop(key, None)
    else:
        state[key] = {"position": event["position"], "row": event["after"]}
    return state


def keeps_before_on_delete(state, event):
    key = cdc.record_key(event["table"], event["key"])
    if key not in state or state[key]["position"] < event["position"]:
        state[key] = {"position": event["position"], "row": event["after"] or event["before"]}
    return state


def test_apply_change_accepts_a_right_answer() -> None:
    assert check_apply_change(right_apply).passed


@pytest.mark.parametrize("answer, says", [
    (no_dedupe, "ignore an event whose position is not above the stored one"),
    (forgets_deletes, "the key is gone altogether"),
    (keeps_before_on_delete, "after the DELETE the state holds"),
    (lambda s, e: s.update({e["after"]["id"]: e}), "raised TypeError"),
    (lambda s, e: s.update({str(e["key"]["id"]): {"position": 0, "row": e["after"]}}),
     "under 'products:7'"),
])
def test_apply_change_rejects_wrong_answers(answer, says) -> None:
    assert says in failing(check_apply_change, answer)


def test_record_key_accepts_table_and_primary_key() -> None:
    assert check_record_key(lambda e: cdc.record_key(e["table"], e["key"])).passed
    assert check_record_key(lambda e: f"{e['table']}/{e['key']}").passed


@pytest.mark.parametrize("answer, says", [
    (lambda e: e["eventId"], "they would be spread over partitions"),
    (lambda e: str(e["key"]["id"]), "include the table name"),
    (lambda e: e["table"], "include the primary key"),
    (lambda e: f"{e['table']}:{e['after']['id']}", "take the primary key from event['key']"),
    (lambda e: e["key"]["id"], "a record key is a string"),
])
def test_record_key_rejects_wrong_answers(answer, says) -> None:
    assert says in failing(check_record_key, answer)


def right_keys(event):
    return cdc.keys_for(event_obj(event), also=lambda row: (
        [f"category:{row['category']}"] if "category" in row else []))


def event_obj(body):
    return cdc.ChangeEvent.from_record(body)


def test_invalidation_keys_accepts_before_and_after_categories() -> None:
    assert check_invalidation_keys(right_keys).passed


@pytest.mark.parametrize("answer, says", [
    (lambda e: {f"{e['table']}:{e['key']['id']}"}, "missing ['category:"),
    (lambda e: {f"{e['table']}:{e['key']['id']}", f"category:{e['after']['category']}"},
     "raised TypeError"),
    (lambda e: {f"{e['table']}:{e['key']['id']}"} | (
        {f"category:{(e['after'] or e['before'])['category']}"} if e["table"] == "products"
        else set()), "look at before *and* after"),
    (lambda e: {f"{e['table']}:{e['key']['id']}"} | {f"category:{c}" for c in
                                                      cdc.shop.CATEGORIES + ("games",)},
     "dropping them costs a reload"),
])
def test_invalidation_keys_rejects_wrong_answers(answer, says) -> None:
    assert says in failing(check_invalidation_keys, answer)


def test_record_key_names_the_value_that_is_not_text() -> None:
    # Text for products, a tuple for customers: the message must show the tuple.
    says = failing(check_record_key, lambda e: e["table"] + ":" + str(e["key"]["id"])
                   if e["table"] != "customers" else ("customers", e["key"]["id"]))
    assert "('customers', 'CUST-001')" in says and "a record key is a string" in says
