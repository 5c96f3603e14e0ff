// The sanitizers' default runtime options, compiled into every executable of the sanitized build
// (SB_SANITIZE, docs/security.md "Sanitizers"), so that tests run by hand, by CTest or by
// scripts/test, the gateway binary the e2e tests start and the fuzzers all behave alike: every
// ASan report ends the process, and so does every UBSan report except those of CAF's own
// headers listed in tests/ubsan.supp. Options in UBSAN_OPTIONS are merged over these.
//
// UBSan's handlers stay recoverable (no -fno-sanitize-recover) because only they consult the
// suppressions; halt_on_error=1 makes them end the process all the same.

extern "C" const char* __ubsan_default_options() {
  return "halt_on_error=1:print_stacktrace=1:suppressions=" SB_UBSAN_SUPPRESSIONS;
}
