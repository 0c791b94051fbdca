#include "config/suggest.h"

#include <algorithm>
#include <cctype>
#include <limits>

namespace wallet_eventd::config {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

size_t edit_distance(std::string_view a, std::string_view b) {
  const size_t n = a.size(), m = b.size();
  // Three rows suffice for the transposition rule.
  std::vector<size_t> prev2(m + 1), prev(m + 1), cur(m + 1);
  for (size_t j = 0; j <= m; ++j) prev[j] = j;
  for (size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= m; ++j) {
      const size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        cur[j] = std::min(cur[j], prev2[j - 2] + 1);
    }
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[m];
}

std::optional<std::string> suggest(std::string_view wrong,
                                   const std::vector<std::string>& candidates) {
  if (wrong.empty()) return std::nullopt;
  const std::string wrong_lower = lower(wrong);
  const size_t limit = std::max<size_t>(2, wrong.size() / 3);
  const std::string* best = nullptr;
  size_t best_distance = std::numeric_limits<size_t>::max();
  size_t best_exact = std::numeric_limits<size_t>::max();
  for (const std::string& candidate : candidates) {
    const std::string candidate_lower = lower(candidate);
    const size_t d = edit_distance(wrong_lower, candidate_lower);
    // One a prefix of the other ("warning" / "warn", "info" / "information").
    const size_t shorter = std::min(wrong_lower.size(), candidate_lower.size());
    const bool prefix =
        shorter >= 3 && wrong_lower.compare(0, shorter, candidate_lower, 0, shorter) == 0;
    if (!prefix && (d > limit || d >= wrong.size())) continue;
    const size_t exact = edit_distance(wrong, candidate);
    if (d < best_distance || (d == best_distance && exact < best_exact)) {
      best = &candidate;
      best_distance = d;
      best_exact = exact;
    }
  }
  if (best == nullptr) return std::nullopt;
  return *best;
}

}  // namespace wallet_eventd::config
