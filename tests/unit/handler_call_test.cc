// HandlerCall: the views the pipeline hands to handle_batch, and the result-message buffers it
// keeps from call to call.
#include "dispatch/handler_call.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "golden.h"

namespace {

using wallet_eventd::dispatch::HandlerCall;
using wallet_eventd::dispatch::HandOver;

constexpr size_t kCap = HandlerCall::kMessageCapacity;

struct Input {
  std::string text;
  std::vector<wallet_eventd::CheckedEvent> checked;
  std::vector<std::string> values;
};

Input checked_goldens(size_t n) {
  Input in;
  const auto files = wep_unit::golden_files();
  EXPECT_FALSE(files.empty());
  for (size_t i = 0; i < n; ++i) in.values.push_back(wep_unit::read_file(files[i % files.size()]));
  for (const auto& v : in.values) {
    auto c = wallet_eventd::check_event(v, &in.text);
    EXPECT_TRUE(c.ok());
    in.checked.push_back(c.value());
  }
  return in;
}

void fill(HandlerCall* call, const Input& in, size_t k, const wep_header* headers = nullptr,
          size_t header_count = 0) {
  call->reset(k);
  for (size_t j = 0; j < k; ++j)
    call->set(j, {&in.checked[j], in.text, "wallet.key.operations", 2, static_cast<int64_t>(j),
                  "wallet-1", in.values[j], headers, header_count, 3});
  call->seal(12345);
}

TEST(HandlerCall, EventsCarryTheRecordAndItsCheckedMetadata) {
  Input in = checked_goldens(3);
  wep_header h{{"k", 1}, {"v", 1}};
  HandlerCall call;
  fill(&call, in, 3, &h, 1);
  ASSERT_EQ(call.batch.count, 3u);
  EXPECT_EQ(call.batch.struct_size, sizeof(wep_batch));
  EXPECT_EQ(call.batch.deadline_ns, 12345u);
  for (size_t j = 0; j < 3; ++j) {
    const wep_event& e = *call.batch.events[j];
    const auto& c = in.checked[j];
    EXPECT_EQ(e.struct_size, sizeof(wep_event));
    EXPECT_EQ(e.event_type, static_cast<int32_t>(c.type));
    EXPECT_EQ(std::string(e.event_type_name.ptr, e.event_type_name.len),
              wallet_eventd::event_type_name(c.type));
    EXPECT_EQ(std::string(e.event_id.ptr, e.event_id.len), c.event_id.in(in.text));
    EXPECT_EQ(std::string(e.wallet_id.ptr, e.wallet_id.len), c.wallet_id.in(in.text));
    EXPECT_EQ(std::string(e.timestamp.ptr, e.timestamp.len), c.timestamp_text.in(in.text));
    EXPECT_EQ(e.timestamp_unix_ns, c.timestamp.time_since_epoch().count());
    EXPECT_EQ(std::string(e.raw_json.ptr, e.raw_json.len), in.values[j]);
    EXPECT_EQ(std::string(e.topic.ptr, e.topic.len), "wallet.key.operations");
    EXPECT_EQ(e.partition, 2);
    EXPECT_EQ(e.offset, static_cast<int64_t>(j));
    EXPECT_EQ(std::string(e.key.ptr, e.key.len), "wallet-1");
    EXPECT_EQ(e.headers, &h);
    EXPECT_EQ(e.header_count, 1u);
    EXPECT_EQ(e.delivery_attempt, 3u);
    const wep_event_result& r = *call.batch.results[j];
    EXPECT_EQ(r.code, WEP_RESULT_UNSET);
    EXPECT_EQ(r.message_capacity, kCap);
    EXPECT_EQ(r.message[0], '\0');
  }
}

TEST(HandlerCall, AMessageWithoutItsNulIsFollowedByZerosInTheNextCall) {
  Input in = checked_goldens(4);
  HandlerCall call;
  fill(&call, in, 4);
  // First call: every slot is zeros from end to end.
  for (size_t j = 0; j < 4; ++j)
    for (size_t b = 0; b < kCap; ++b) ASSERT_EQ(call.batch.results[j]->message[b], '\0');
  // The plugin fills slot 1 to the brim (no NUL) and slot 2 with a short text.
  std::memset(call.batch.results[1]->message, 'x', kCap);
  std::memcpy(call.batch.results[2]->message, "long message here", 17);
  // Next call, fewer events: the plugin writes shorter texts without a NUL.
  fill(&call, in, 3);
  std::memcpy(call.batch.results[1]->message, "abc", 3);
  std::memcpy(call.batch.results[2]->message, "de", 2);
  EXPECT_EQ(
      std::string(call.batch.results[1]->message, strnlen(call.batch.results[1]->message, kCap)),
      "abc");
  EXPECT_EQ(
      std::string(call.batch.results[2]->message, strnlen(call.batch.results[2]->message, kCap)),
      "de");
  // A call that grows past the earlier ones gets zeroed slots too.
  fill(&call, in, 4);
  for (size_t j = 0; j < 4; ++j) EXPECT_EQ(call.batch.results[j]->message[0], '\0');
  for (size_t b = 0; b < kCap; ++b) ASSERT_EQ(call.batch.results[3]->message[b], '\0');
}

}  // namespace
