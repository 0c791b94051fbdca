// "Did you mean ...?" suggestions for misspelt keys, enum values and event type names.
#ifndef WALLET_EVENTD_CONFIG_SUGGEST_H_
#define WALLET_EVENTD_CONFIG_SUGGEST_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace wallet_eventd::config {

// Damerau-Levenshtein distance (optimal string alignment: insertions, deletions,
// substitutions and transpositions of adjacent characters each cost 1).
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate that `wrong` most likely is a typo of, or nullopt when none is close.
// Close means: distance (compared case-insensitively) at most max(2, |wrong| / 3) and smaller
// than |wrong|, or one being a prefix of the other of at least 3 characters ("warning" ->
// "warn"). The smallest distance wins; ties go to the smaller case-sensitive distance, then to
// the earlier candidate. Reentrant.
std::optional<std::string> suggest(std::string_view wrong,
                                   const std::vector<std::string>& candidates);

}  // namespace wallet_eventd::config

#endif  // WALLET_EVENTD_CONFIG_SUGGEST_H_
