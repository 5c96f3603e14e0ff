#pragma once
// PLACEHOLDER: shared Meta (Messenger/Instagram/WhatsApp) helpers, being written.
