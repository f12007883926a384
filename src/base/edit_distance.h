// "Did you mean" suggestions for misspelled keys, task names and expression names.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace relay {

// Levenshtein distance between a and b.
int EditDistance(std::string_view a, std::string_view b);

// The candidate closest to `word` if it is close enough to be a likely typo
// (distance at most max(1, len/3)); empty otherwise.
std::string SuggestClosest(std::string_view word, const std::vector<std::string>& candidates);

// " (did you mean 'x'?)" or "" — ready to append to a message.
std::string DidYouMean(std::string_view word, const std::vector<std::string>& candidates);

}  // namespace relay
