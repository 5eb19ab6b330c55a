use std::cmp::Ordering::{self, Equal, Greater, Less};

use rstest::rstest;

use super::{compare, satisfies};
use crate::model::{Kind, Op};

// Cases from Debian Policy §5.6.12 and dpkg's own version tests.
#[rstest]
#[case("1.0", "1.0", Equal)]
#[case("0:1.0", "1.0", Equal)]
#[case("1.0-0", "1.0", Equal)]
#[case("00:1.0", "1.0", Equal)]
#[case("1:0.1", "2.0", Greater)]
#[case("1:1.0", "2:0.1", Less)]
#[case("1.0~rc1", "1.0", Less)]
#[case("1.0~~", "1.0~~a", Less)]
#[case("1.0~~a", "1.0~", Less)]
#[case("1.0~", "1.0", Less)]
#[case("1.0", "1.0a", Less)]
#[case("1.0a", "1.0+", Less)]
#[case("1.0+", "1.0.", Less)]
#[case("1.0a", "1.0A", Greater)]
#[case("1.0.0", "1.0", Greater)]
#[case("1.010", "1.9", Greater)]
#[case("1.0010", "1.10", Equal)]
#[case("2.36-9+deb12u4", "2.36-9+deb12u14", Less)]
#[case("2.36-9+deb12u4", "2.36-9", Greater)]
#[case("3.0.22-1~deb12u2", "3.0.22-1", Less)]
#[case("1:1.35.0-4+deb12u1+b1", "1:1.35.0-4+deb12u1", Greater)]
#[case("1.2-3-4", "1.2-3-5", Less)]
#[case("1.2-3-4", "1.2-4", Greater)]
#[case("0.9.9+git20220101", "0.9.9", Greater)]
#[case("a", "1", Greater)]
#[case("99999999999999999999999", "99999999999999999999998", Greater)]
fn debian_order(#[case] a: &str, #[case] b: &str, #[case] expected: Ordering) {
    assert_eq!(compare(Kind::Deb, a, b), expected, "{a} vs {b}");
    assert_eq!(compare(Kind::Deb, b, a), expected.reverse(), "{b} vs {a}");
}

// Cases from apk-tools' test/version.data.
#[rstest]
#[case("2.34", "0.1.0_alpha", Greater)]
#[case("23_foo", "4_beta", Greater)]
#[case("1.0", "1.0bc", Less)]
#[case("0.1.0_alpha", "0.1.0_alpha", Equal)]
#[case("0.1.0_alpha2", "0.1.0_alpha", Greater)]
#[case("1.1", "1.1_alpha1", Greater)]
#[case("1.2.1", "1.2", Greater)]
#[case("1.2", "1.3_alpha", Less)]
#[case("1.0.4-r3", "1.0.4-r4", Less)]
#[case("2.3.0b-r1", "2.3.0b-r2", Less)]
#[case("0.12.3", "0.12", Greater)]
#[case("3.1_p16", "3.1_p17", Less)]
#[case("1.06-r6", "006", Less)]
#[case("1.2.2-r1", "1.2.2", Greater)]
#[case("1.02", "1.1", Less)]
#[case("1.02.07", "1.02.10-r1", Less)]
#[case("2.01.01_alpha10", "0.94", Greater)]
#[case("3.0.20060720", "20060720", Less)]
#[case("2.5.1-r8", "2.5.1a-r1", Less)]
#[case("20040401", "2.0.0_rc3-r1", Greater)]
#[case("0.10.0-r1", "0.10.0", Greater)]
#[case("0.10.0", "0.10.1_rc1", Less)]
#[case("1.7", "1.7b", Less)]
#[case("1.8.5", "1.8.5_p2", Less)]
#[case("0.9.28.1", "087-r1", Less)]
#[case("2.12r-r4", "2.12r-r5", Less)]
#[case("7.0.17", "7.0.174", Less)]
#[case("0.20070118", "0.20070207_rc1", Less)]
#[case("4.5_p1-r1", "4.5_p1", Greater)]
#[case("1.3-r0", "1.3.1-r0", Less)]
#[case("1.3_pre1-r1", "1.3.2", Less)]
#[case("1.0_p10-r0", "1.0_p9-r0", Greater)]
#[case("0.1.0_alpha_pre2", "0.1.0_alpha", Less)]
#[case("1.0.0_pre20191002222144-r0", "1.0.0_pre20210530193627-r0", Less)]
#[case("1.0_rc1", "1.0_cvs", Less)]
#[case("1.0_git", "1.0_hg", Less)]
#[case("1.0_hg", "1.0_p", Less)]
#[case("1.0", "1.0_svn", Less)]
#[case("1.36.1-r29", "1.36.1-r3", Greater)]
fn apk_order(#[case] a: &str, #[case] b: &str, #[case] expected: Ordering) {
    assert_eq!(compare(Kind::Apk, a, b), expected, "{a} vs {b}");
    assert_eq!(compare(Kind::Apk, b, a), expected.reverse(), "{b} vs {a}");
}

#[rstest]
#[case(Kind::Deb, "2.9.3.0-1", Op::Ge, "2.9.3", true)]
#[case(Kind::Deb, "2.9.0-1", Op::Ge, "2.9.3", false)]
#[case(Kind::Deb, "2.9.0-1", Op::Lt, "2.9.3", true)]
#[case(Kind::Deb, "1.0", Op::Lt, "1.0", false)]
#[case(Kind::Deb, "1.0", Op::Le, "1.0-0", true)]
#[case(Kind::Deb, "1.0", Op::Gt, "1.0~", true)]
#[case(Kind::Deb, "1.0", Op::Eq, "0:1.0", true)]
#[case(Kind::Apk, "1.2.3-r0", Op::Fuzzy, "1.2", true)]
#[case(Kind::Apk, "1.2.3-r0", Op::Fuzzy, "1.2.3", true)]
#[case(Kind::Apk, "1.20.1-r0", Op::Fuzzy, "1.2", false)]
#[case(Kind::Apk, "1.3.0-r0", Op::Fuzzy, "1.2", false)]
#[case(Kind::Apk, "1.2", Op::Fuzzy, "1.2.3", false)]
#[case(Kind::Apk, "1.2.3-r0", Op::Eq, "1.2.3", false)]
#[case(Kind::Apk, "1.2.3-r1", Op::Ge, "1.2.3-r1", true)]
#[case(Kind::Apk, "1.2.3_rc1", Op::Lt, "1.2.3", true)]
fn relations(
    #[case] kind: Kind,
    #[case] version: &str,
    #[case] op: Op,
    #[case] wanted: &str,
    #[case] expected: bool,
) {
    assert_eq!(satisfies(kind, version, op, wanted), expected);
}
