#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "adapters/adapter.hpp"

/// WooCommerce webhooks (WooCommerce > Settings > Advanced > Webhooks): one REST API v3 resource
/// per POST; what happened to it comes from the `X-WC-Webhook-Topic` header ("order.created").
/// Receive only.
///
/// - Authenticity: `X-WC-Webhook-Signature` = base64(HMAC-SHA256(secret, raw body)); the 32
///   decoded bytes are compared in constant time. Then `X-WC-Webhook-Source` (the store's
///   `home_url('/')`) must equal the channel's `store_url`, a trailing slash ignored on both:
///   one secret may be reused by several stores, and a delivery of another store is misrouted,
///   not ours (`errc::forbidden`, also when the header is absent).
/// - The creation ping: saving a webhook makes WooCommerce POST the unsigned form body
///   `webhook_id=<n>`, and it refuses to create the webhook without a 2xx. `setup_request`
///   answers exactly that body (`webhook_id=` and 1 to 20 digits, nothing else) with 200 and
///   `{"status":"ok"}` (application/json), signed or not; nothing is stored. Any other body is
///   an ordinary webhook and must verify.
/// - WooCommerce never retries and disables a webhook after a few failed deliveries: a signed
///   body that does not parse is kept in quarantine and answered 200
///   (`adapter_info::ok_when_quarantined`); a 503 is a lost delivery.
/// - Dedupe: `X-WC-Webhook-Delivery-ID` is derived from the webhook id and the current second,
///   so two deliveries in one second share it: "d:<delivery id>:<hex SHA-256 of the body>".
///   Without the header: "h:<hex SHA-256 of topic \n body>". `platform_event_id` = the delivery
///   id.
/// - Mapping (`kind` = the event: `X-WC-Webhook-Event`, else the topic after its dot: created,
///   updated, deleted, restored): order.* → `order` (id, number, currency, total, `status` as
///   financial_status, line_items; money is the JSON's exact text, never a double), the text of
///   `customer_note` as content; customer.* → `customer`; every other topic (product.*,
///   coupon.*, action.*) → `commerce`. `occurred_at`: `date_modified_gmt`, else
///   `date_created_gmt` (UTC without a zone).
/// - The person: a registered customer (`customer_id` > 0, or a customer.* resource's `id`) is
///   the sender, peer and subject source, named by the billing (customer) first and last name. A
///   guest order (`customer_id` 0) is the lower-case billing e-mail as "email:<address>" (never
///   customer 0; no subject without an e-mail).
/// - Deletions are reported, never acted on: a `*.deleted` body is only `{"id":N}` and the topic
///   header is not signed, so a signed body of any topic could be replayed or relabelled as a
///   deletion; were a deletion to erase, that would let anyone holding one signed body erase a
///   person. customer.deleted is a `customer` event of kind `deleted` whose sender and subject
///   source are the id (the business finds the person and erases through
///   `DELETE /v1/subjects/{subject}`); order.deleted is an `order` event of kind `deleted` with
///   only the order id (an order id names no person, so it has no subject); other deletions are
///   `commerce` of kind `deleted`.
namespace sb::adapters::woocommerce {

/// The woocommerce platform: its config schema, the headers it reads, and its factory.
adapter_info info();

/// The store's host from a `store_url` ("https://Shop.Example.com:8443/shop/" →
/// "shop.example.com"): lower case, without scheme, user info, port or path (`channel.account`).
std::string host_of(std::string_view store_url);

/// Whether `body` is WooCommerce's creation ping: exactly `webhook_id=` and 1 to 20 digits.
bool is_ping(std::string_view body) noexcept;

}  // namespace sb::adapters::woocommerce
