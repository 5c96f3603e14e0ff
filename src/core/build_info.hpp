#pragma once

#include <string_view>

/// What the running binary was built from, fixed when CMake configured the build: the project
/// version (`project(switchboard VERSION ...)` in CMakeLists.txt) and the short git commit of the
/// source tree (`git rev-parse --short HEAD`; "unknown" outside a git checkout). Generated into
/// one small translation unit (build_info.cpp.in), so a new commit recompiles that file only.
/// Shown by `switchboard_build_info{version,commit}` in /metrics.
namespace sb::build {

std::string_view version() noexcept;
std::string_view commit() noexcept;

}  // namespace sb::build
