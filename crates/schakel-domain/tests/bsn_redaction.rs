//! A BSN never appears in Debug output, error messages or panic messages.

use std::panic;

use schakel_domain::Bsn;

const DIGITS: &str = "999990019";

fn panic_message(f: impl FnOnce() + panic::UnwindSafe) -> String {
    let hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {}));
    let payload = panic::catch_unwind(f).expect_err("must panic");
    panic::set_hook(hook);
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

#[test]
fn debug_and_display_are_redacted() {
    let b: Bsn = DIGITS.parse().unwrap();
    for shown in [
        format!("{b:?}"),
        format!("{b}"),
        format!("{b:#?}"),
        format!("{:?}", vec![b.clone()]),
    ] {
        assert!(!shown.contains(DIGITS) && !shown.contains("99999"), "{shown}");
    }
}

#[test]
fn parse_errors_do_not_repeat_the_input() {
    for bad in ["999990018", "99999001", "99999001x"] {
        let e = bad.parse::<Bsn>().unwrap_err();
        assert!(!e.to_string().contains(bad) && !format!("{e:?}").contains(bad));
    }
}

#[test]
fn panics_do_not_show_the_bsn() {
    let msg = panic_message(|| {
        let r: Result<Bsn, ()> = DIGITS.parse::<Bsn>().map_err(|_| ());
        std::hint::black_box(r).unwrap_err();
    });
    assert!(msg.contains("redacted") && !msg.contains(DIGITS), "{msg}");
    let msg = panic_message(|| {
        let a: Bsn = DIGITS.parse().unwrap();
        let b: Bsn = "999990925".parse().unwrap();
        assert_eq!(a, b);
    });
    assert!(!msg.contains(DIGITS) && !msg.contains("999990925"), "{msg}");
    let msg = panic_message(|| {
        let _ = "999990018".parse::<Bsn>().expect("bsn");
    });
    assert!(!msg.contains("999990018"), "{msg}");
}
