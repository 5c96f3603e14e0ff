#include "adapters/slack/slack.hpp"

namespace sb::adapters::slack {

adapter_info info() {
  adapter_info i;
  i.type = "slack";
  i.display_name = "Slack";
  i.schema.type = "slack";
  return i;
}

}  // namespace sb::adapters::slack
