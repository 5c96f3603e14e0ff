# Layers the build enforces (docs/architecture.md "Layers"). Every library sees our headers only
# through include roots generated here, one per library, in the build directory: the root of a
# library holds one symbolic link named after its folder (core -> src/core, actors -> actors,
# ...), so `#include "core/error.hpp"` keeps its spelling but resolves only in a library that
# links sb_core, directly or through another library. A header of a higher layer is not on a
# lower layer's include path at all: including it fails to compile ("No such file").
#
# sb_expose(<target> <name> <path>): <path> (a folder, or one header) is reachable as "<name>"
# for <target> and everything that links it. <name> may have a folder part ("http/response.hpp":
# the one header of the HTTP layer below the actors).
function(sb_expose target name path)
  set(root ${PROJECT_BINARY_DIR}/include/${target})
  get_filename_component(parent ${root}/${name} DIRECTORY)
  file(MAKE_DIRECTORY ${parent})
  file(CREATE_LINK ${path} ${root}/${name} SYMBOLIC)
  target_include_directories(${target} PUBLIC ${root})
endfunction()
