#pragma once

#include "core/token_bucket.hpp"

/// The send engine's time: steady and injected (its owners pass `now`), the clock of the token
/// buckets it drives (core/token_bucket.hpp).
namespace sb::outbound {

using clock = token_bucket::clock;
using time_point = token_bucket::time_point;
using duration = token_bucket::duration;

}  // namespace sb::outbound
