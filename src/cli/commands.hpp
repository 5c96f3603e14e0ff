#pragma once

// The subcommands of the `switchboard` binary that are not the gateway itself, one file each
// (main.cpp dispatches on argv[1]). Each prints its own usage and errors and returns the exit
// status.

namespace sb::cli {

/// `switchboard backup --config FILE DIR` and `switchboard restore --config FILE [--force] DIR`
/// (argv[1] is the command): 0 when done, 1 with nothing written.
int backup_or_restore(int argc, char** argv);

/// `switchboard rotate-master-key --config FILE --new-key-file PATH|-` (argv[1] is the command):
/// replaces the master key of FILE's store (store/root_key.hpp). 0 when rotated, 1 with nothing
/// changed.
int rotate_master_key(int argc, char** argv);

}  // namespace sb::cli
