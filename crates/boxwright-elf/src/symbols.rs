//! Which symbol names mean a stack protector or FORTIFY_SOURCE.

/// Symbols that code compiled with a stack protector uses. `__stack_chk_fail` also matches
/// `__stack_chk_fail_local` (i386 and other PIC code).
pub fn is_stack_protector(name: &[u8]) -> bool {
    name.starts_with(b"__stack_chk_fail")
        || name == b"__stack_chk_guard"
        || name == b"__intel_security_cookie"
}

/// The checked functions that `_FORTIFY_SOURCE` calls instead of the plain ones: glibc's
/// `__*_chk` entry points (sorted, for binary search). `__stack_chk_fail` is not one of them.
const FORTIFY_FUNCTIONS: &[&str] = &[
    "__asprintf_chk",
    "__confstr_chk",
    "__dprintf_chk",
    "__explicit_bzero_chk",
    "__fdelt_chk",
    "__fgets_chk",
    "__fgets_unlocked_chk",
    "__fgetws_chk",
    "__fgetws_unlocked_chk",
    "__fprintf_chk",
    "__fread_chk",
    "__fread_unlocked_chk",
    "__fwprintf_chk",
    "__getcwd_chk",
    "__getdomainname_chk",
    "__getgroups_chk",
    "__gethostname_chk",
    "__getlogin_r_chk",
    "__gets_chk",
    "__getwd_chk",
    "__longjmp_chk",
    "__mbsnrtowcs_chk",
    "__mbsrtowcs_chk",
    "__mbstowcs_chk",
    "__memcpy_chk",
    "__memmove_chk",
    "__mempcpy_chk",
    "__memset_chk",
    "__obstack_printf_chk",
    "__obstack_vprintf_chk",
    "__poll_chk",
    "__ppoll_chk",
    "__pread64_chk",
    "__pread_chk",
    "__printf_chk",
    "__ptsname_r_chk",
    "__read_chk",
    "__readlink_chk",
    "__readlinkat_chk",
    "__realpath_chk",
    "__recv_chk",
    "__recvfrom_chk",
    "__snprintf_chk",
    "__sprintf_chk",
    "__stpcpy_chk",
    "__stpncpy_chk",
    "__strcat_chk",
    "__strcpy_chk",
    "__strlcat_chk",
    "__strlcpy_chk",
    "__strncat_chk",
    "__strncpy_chk",
    "__swprintf_chk",
    "__syslog_chk",
    "__ttyname_r_chk",
    "__vasprintf_chk",
    "__vdprintf_chk",
    "__vfprintf_chk",
    "__vfwprintf_chk",
    "__vprintf_chk",
    "__vsnprintf_chk",
    "__vsprintf_chk",
    "__vswprintf_chk",
    "__vsyslog_chk",
    "__vwprintf_chk",
    "__wcpcpy_chk",
    "__wcpncpy_chk",
    "__wcrtomb_chk",
    "__wcscat_chk",
    "__wcscpy_chk",
    "__wcslcat_chk",
    "__wcslcpy_chk",
    "__wcsncat_chk",
    "__wcsncpy_chk",
    "__wcsnrtombs_chk",
    "__wcsrtombs_chk",
    "__wcstombs_chk",
    "__wctomb_chk",
    "__wmemcpy_chk",
    "__wmemmove_chk",
    "__wmempcpy_chk",
    "__wmemset_chk",
    "__wprintf_chk",
];

/// The FORTIFY_SOURCE function this symbol name refers to, if any. A version suffix
/// (`__printf_chk@GLIBC_2.3.4`, as some linkers write into `.symtab`) is ignored.
pub fn fortify_function(name: &[u8]) -> Option<&'static str> {
    let name = name.split(|&b| b == b'@').next().unwrap_or(name);
    if !name.ends_with(b"_chk") || !name.starts_with(b"__") {
        return None;
    }
    let name = std::str::from_utf8(name).ok()?;
    FORTIFY_FUNCTIONS
        .binary_search(&name)
        .ok()
        .map(|index| FORTIFY_FUNCTIONS[index])
}

#[cfg(test)]
mod tests {
    use rstest::rstest;

    use super::*;

    #[test]
    fn list_is_sorted_for_binary_search() {
        assert!(FORTIFY_FUNCTIONS.windows(2).all(|w| w[0] < w[1]));
    }

    #[rstest]
    #[case(b"__memcpy_chk", Some("__memcpy_chk"))]
    #[case(b"__printf_chk@GLIBC_2.3.4", Some("__printf_chk"))]
    #[case(b"__printf_chk@@GLIBC_2.3.4", Some("__printf_chk"))]
    #[case(b"__stack_chk_fail", None)]
    #[case(b"__chk_fail", None)]
    #[case(b"__memcpy_chk_erms", None)]
    #[case(b"___printf_chk", None)]
    #[case(b"memcpy", None)]
    #[case(b"\xff\xfe_chk", None)]
    fn fortify_names(#[case] name: &[u8], #[case] expected: Option<&str>) {
        assert_eq!(fortify_function(name), expected);
    }

    #[rstest]
    #[case(b"__stack_chk_fail", true)]
    #[case(b"__stack_chk_fail_local", true)]
    #[case(b"__stack_chk_guard", true)]
    #[case(b"__intel_security_cookie", true)]
    #[case(b"__stack_chk", false)]
    #[case(b"stack_chk_fail", false)]
    fn stack_protector_names(#[case] name: &[u8], #[case] expected: bool) {
        assert_eq!(is_stack_protector(name), expected);
    }
}
