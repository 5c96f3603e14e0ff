# Sourced by scripts/test and scripts/fuzz: the one sanitized build both use (docs/security.md,
# "Sanitizers" and "Fuzzing"). clang, ASan + UBSan, -O1 -g1, libFuzzer coverage instrumentation
# and the fuzz harnesses, ccache; its own directory, so the Release build in ./build is untouched. The
# sanitizers' runtime options are compiled into every executable (tests/sanitizer_options.cpp).

sb_san_dir="${SB_SAN_BUILD_DIR:-build-san}"

# Configures $sb_san_dir once.
sb_san_configure() {
  if [ ! -f "$sb_san_dir/CMakeCache.txt" ]; then
    local generator=()
    if command -v ninja >/dev/null; then
      generator=(-G Ninja)  # as scripts/build
    fi
    cmake -S . -B "$sb_san_dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=Sanitize \
      -DCMAKE_CXX_COMPILER=clang++ -DSB_SANITIZE=ON -DSB_UNITY=OFF >/dev/null
  fi
}

# Builds the given targets (default: all) in $sb_san_dir.
sb_san_build() {
  sb_san_configure
  local jobs="${SB_JOBS:-$(nproc)}"
  if [ $# -eq 0 ]; then
    cmake --build "$sb_san_dir" -j "$jobs"
  else
    local t
    for t in "$@"; do
      cmake --build "$sb_san_dir" -j "$jobs" --target "$t"
    done
  fi
}
