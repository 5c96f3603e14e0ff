#include "adapters/meta/meta.hpp"
