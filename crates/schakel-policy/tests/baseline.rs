mod common;
use common::*;

#[test]
fn baselines_are_allowed() {
    let p = policy();
    for (name, f) in [
        ("school_handover", school_handover()),
        ("during_school", during_school()),
        ("doorstroompunt_handover", doorstroompunt_handover()),
        ("expertise_request", expertise_request()),
        ("expertise_advice", expertise_advice()),
    ] {
        assert_allowed(&schakel_policy::decide(&f, &p, TODAY), name);
    }
}
