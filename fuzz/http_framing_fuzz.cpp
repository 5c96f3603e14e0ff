// HTTP/1.1 request framing as the server reads it: Boost.Beast's
// `http::request_parser<string_body>` configured as src/http/http_session.hpp configures it
// (`body_limit` = server.max_body_bytes, `header_limit` = server.max_header_bytes, a fresh
// parser per request on one `flat_buffer` that keeps pipelined bytes), driven by Beast's own
// read algorithm (`http::read_header`, then `http::read`, the synchronous twins of what the
// session calls) over a stream that hands the bytes over in input-chosen pieces, so a request
// is split at every possible point. Each complete request is then routed (`http::match_route`).
//
// Input: `<knobs>\n<bytes of the connection>`. knobs[0] 's' = the smallest limits the config
// accepts (1024 and 1024), anything else the example config's; knobs[1..] are the sizes of the
// pieces the peer sends (byte value + 1, cycled; one piece of 4096 when absent).
//
// Properties checked besides memory safety:
// - a complete request's body is within max_body_bytes, its header within twice
//   max_header_bytes (Beast's bound, see `check_complete`);
// - a request the parser calls complete with a body has the length it announced
//   (Content-Length) or came chunked;
// - the server's framing check (`http::check_framing`, src/http/framing.hpp) lets through only
//   requests framed one way: no Transfer-Encoding, or exactly one `chunked` alone without
//   Content-Length in HTTP/1.1, which Beast then reads as chunked;
// - the read buffer is bounded as the session bounds it (`http::read_buffer_limit`), so chunk
//   extensions and trailers cannot grow it.

#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "common.hpp"
#include "http/framing.hpp"
#include "http/router.hpp"

namespace {

using namespace sb;
namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using parser_t = bhttp::request_parser<bhttp::string_body>;

/// A SyncReadStream that hands out the connection's bytes in pieces of the given sizes, then
/// end of stream.
class piecewise_stream {
 public:
  piecewise_stream(std::string_view bytes, std::string_view sizes) : bytes_(bytes), sizes_(sizes) {}

  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers, beast::error_code& ec) {
    ec = {};
    if (bytes_.empty()) {
      ec = net::error::eof;
      return 0;
    }
    std::size_t piece = 4096;
    if (!sizes_.empty()) {
      piece = static_cast<unsigned char>(sizes_[next_++ % sizes_.size()]) + 1u;
    }
    piece = std::min({piece, bytes_.size(), beast::buffer_bytes(buffers)});
    std::size_t copied = net::buffer_copy(buffers, net::buffer(bytes_.data(), piece));
    bytes_.remove_prefix(copied);
    return copied;
  }

  template <class MutableBufferSequence>
  std::size_t read_some(const MutableBufferSequence& buffers) {
    beast::error_code ec;
    auto n = read_some(buffers, ec);
    if (ec) {
      throw beast::system_error(ec);
    }
    return n;
  }

 private:
  std::string_view bytes_;
  std::string_view sizes_;
  std::size_t next_ = 0;
};

struct limits {
  std::uint64_t max_body_bytes;
  std::uint32_t max_header_bytes;
};

/// What src/http/http_session.hpp does to a fresh parser (`begin_request`).
void configure(parser_t& p, const limits& l) {
  p.body_limit(l.max_body_bytes);
  p.header_limit(l.max_header_bytes);
}

/// The server's verdict on a request whose header block is complete, before it reads the body
/// (`http_session::check_request_framing` in src/http/http_session.hpp): nullopt = go on, else the status
/// it answers with before closing.
std::optional<int> header_verdict(const parser_t& p) {
  const auto& req = p.get();
  std::vector<std::string_view> codings;
  auto range = req.equal_range(bhttp::field::transfer_encoding);
  for (auto it = range.first; it != range.second; ++it) {
    codings.emplace_back(it->value().data(), it->value().size());
  }
  const bool has_length = req.count(bhttp::field::content_length) != 0;
  if (auto framed = http::check_framing(codings, has_length, req.version() == 10); !framed) {
    return 400;
  }
  // What passed is framed one way only: no Transfer-Encoding, or exactly one "chunked" alone
  // with no Content-Length in HTTP/1.1.
  fuzz::require(codings.empty() || (codings.size() == 1 && !has_length && req.version() == 11),
                "ambiguous framing accepted");
  if (!codings.empty()) {
    fuzz::require(p.chunked(), "a Transfer-Encoding accepted that Beast does not read as chunked");
  }
  return std::nullopt;
}

void check_complete(const parser_t& p, const limits& l) {
  const auto& req = p.get();
  fuzz::require(req.body().size() <= l.max_body_bytes, "a body beyond max_body_bytes");
  if (!p.chunked() && p.content_length()) {
    fuzz::require(req.body().size() == *p.content_length(),
                  "a body of another length than its Content-Length");
  }
  // Beast applies `header_limit` to what is left of the header at each read: the request line
  // and the complete fields one read took in (when the end of the header had not arrived) do not
  // count against the rest, so a header can reach about twice max_header_bytes, never more
  // (fuzz/regressions/http_framing/). What Beast keeps is no longer than what it read.
  std::size_t header_bytes = req.method_string().size() + req.target().size() + 12 + 2;
  for (const auto& f : req) {
    header_bytes += f.name_string().size() + f.value().size() + 4;
  }
  fuzz::require(header_bytes <= 2 * std::size_t{l.max_header_bytes},
                "a header beyond twice max_header_bytes");
  (void)http::match_route(std::string_view(req.method_string().data(), req.method_string().size()),
                          std::string_view(req.target().data(), req.target().size()));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  fuzz::fields in(fuzz::as_text(data, size));
  const auto knobs = in.line();
  const auto connection = in.rest();
  limits l{fuzz::example_config().server.max_body_bytes,
           fuzz::example_config().server.max_header_bytes};
  if (!knobs.empty() && knobs[0] == 's') {
    l = {1024, 1024};
  }
  piecewise_stream stream(connection, knobs.empty() ? knobs : knobs.substr(1));
  // Bounded as the session bounds it: this is what holds chunk extensions and trailers.
  beast::flat_buffer buffer(http::read_buffer_limit(l.max_header_bytes));

  // One connection: requests one after the other (pipelined bytes stay in `buffer`) until an
  // error, end of stream, or a request that does not keep the connection alive.
  for (int requests = 0; requests < 64; ++requests) {
    parser_t p;
    configure(p, l);
    beast::error_code ec;
    bhttp::read_header(stream, buffer, p, ec);
    if (ec) {
      return 0;  // 400 / 413 / 431 and close, or a silent close: the session's on_read_error
    }
    if (header_verdict(p)) {
      return 0;
    }
    if (!p.is_done()) {
      bhttp::read(stream, buffer, p, ec);
      if (ec) {
        return 0;
      }
    }
    check_complete(p, l);
    if (!p.get().keep_alive()) {
      return 0;
    }
  }
  return 0;
}
