// ToJsonLine: the one user of nlohmann::json in events/ (an adapter: what
// the library throws stops here).
#include <nlohmann/json.hpp>

#include "events/event.h"

namespace relay::events {

std::string ToJsonLine(const Event& e) {
  using Json = nlohmann::ordered_json;
  Json j;
  j["run"] = e.run_id;
  j["seq"] = e.seq;
  j["ts"] = FormatTimestamp(e.ts);
  j["ts_us"] = e.ts;
  j["kind"] = e.kind;
  j["subject"] = e.subject;
  j["from"] = e.from;
  j["to"] = e.to;
  j["cause"] = e.cause;
  j["reason"] = e.reason;
  // data is stored as canonical JSON text; embed it as an object so a
  // consumer does not parse twice. If it somehow is not JSON, keep the text.
  Json data = Json::parse(e.data.empty() ? std::string("{}") : e.data, nullptr,
                          /*allow_exceptions=*/false);
  if (data.is_discarded()) {
    j["data"] = e.data;
  } else {
    j["data"] = std::move(data);
  }
  j["prev_hash"] = e.prev_hash;
  j["hash"] = e.hash;
  j["format"] = e.format;
  if (!e.malformed.empty()) j["malformed"] = e.malformed;
  try {
    // Invalid UTF-8 (from a process's text) must not cost the whole line.
    return j.dump(-1, ' ', false, Json::error_handler_t::replace);
  } catch (const std::exception& ex) {
    std::string out = "{\"error\":";
    AppendJsonString(out, std::string("cannot encode event: ") + ex.what());
    return out + "}";
  }
}

}  // namespace relay::events
