#include "spec/matrix_size.h"

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "expr/expr.h"

namespace relay::spec {
namespace {

using Wide = __int128;  // sums of inclusion–exclusion terms may exceed int64

// Values compare as the planner matches them (plan/matrix.cc), loosely, as
// Actions does: by their display text, so 1, 1.0 and '1' are the same value.
using ValueId = int;
std::string Key(const nlohmann::json& v) { return expr::ToDisplayString(v); }

constexpr ValueId kAny = -1;
using Constraint = std::vector<ValueId>;  // one per axis

// Steps of inclusion–exclusion, and of matching excludes against includes,
// before giving up on an exact count.
constexpr int64_t kDfsBudget = 200'000;
constexpr int64_t kFilterBudget = 5'000'000;

int64_t SatMul(int64_t a, int64_t b) {
  if (a == 0 || b == 0) return 0;
  if (a > kMatrixSizeCap / b) return kMatrixSizeCap;
  return a * b;
}

class Counter {
 public:
  explicit Counter(const Matrix& m) {
    for (const auto& [name, values] : m.axes) {
      axis_index_[name] = ids_.size();
      auto& ids = ids_.emplace_back();
      auto& mult = mult_.emplace_back();
      for (const auto& v : values) {
        auto [it, inserted] = ids.emplace(Key(v), static_cast<ValueId>(mult.size()));
        if (inserted) mult.push_back(0);
        ++mult[it->second];
      }
      sizes_.push_back(static_cast<int64_t>(values.size()));
    }
  }

  // Constraint of an entry over the axes; false when some axis value does
  // not exist (the entry matches no combination).
  bool ToConstraint(const nlohmann::json& entry, Constraint* out) const {
    out->assign(sizes_.size(), kAny);
    if (!entry.is_object()) return true;
    for (const auto& [key, value] : entry.items()) {
      auto a = axis_index_.find(key);
      if (a == axis_index_.end()) continue;
      auto id = ids_[a->second].find(Key(value));
      if (id == ids_[a->second].end()) return false;
      (*out)[a->second] = id->second;
    }
    return true;
  }

  int64_t Size(const Constraint& c) const {
    int64_t n = 1;
    for (size_t a = 0; a < c.size(); ++a) n = SatMul(n, c[a] == kAny ? sizes_[a] : mult_[a][c[a]]);
    return n;
  }

  static bool Intersect(const Constraint& x, const Constraint& y, Constraint* out) {
    out->resize(x.size());
    for (size_t a = 0; a < x.size(); ++a) {
      if (x[a] != kAny && y[a] != kAny && x[a] != y[a]) return false;
      (*out)[a] = x[a] != kAny ? x[a] : y[a];
    }
    return true;
  }

  // |base ∩ (E1 ∪ … ∪ En)| by inclusion–exclusion, pruning empty
  // intersections. Returns false when the budget runs out.
  bool UnionWithin(const Constraint& base, const std::vector<Constraint>& excludes, Wide* out) {
    std::vector<Constraint> relevant;
    Constraint tmp;
    for (const auto& e : excludes) {
      if (++filter_steps_ > kFilterBudget) return false;
      if (Intersect(base, e, &tmp)) relevant.push_back(tmp);
    }
    *out = 0;
    // Distinct sets that constrain the same axes are disjoint (they differ in
    // some value), which is the usual shape of an exclude list.
    bool same_axes = true;
    for (size_t i = 1; i < relevant.size() && same_axes; ++i)
      for (size_t a = 0; a < base.size() && same_axes; ++a)
        same_axes = (relevant[i][a] == kAny) == (relevant[0][a] == kAny);
    if (same_axes) {
      for (const auto& r : relevant) *out += Size(r);
      return true;
    }
    return Dfs(base, relevant, 0, 1, out);
  }

  int64_t Product() const {
    int64_t n = 1;
    for (int64_t s : sizes_) n = SatMul(n, s);
    return n;
  }
  size_t axes() const { return sizes_.size(); }

 private:
  bool Dfs(const Constraint& current, const std::vector<Constraint>& sets, size_t from, int sign,
           Wide* total) {
    Constraint next;
    for (size_t j = from; j < sets.size(); ++j) {
      if (++dfs_steps_ > kDfsBudget) return false;
      if (!Intersect(current, sets[j], &next)) continue;
      *total += sign * static_cast<Wide>(Size(next));
      if (!Dfs(next, sets, j + 1, -sign, total)) return false;
    }
    return true;
  }

  std::unordered_map<std::string, size_t> axis_index_;
  std::vector<std::unordered_map<std::string, ValueId>> ids_;
  std::vector<std::vector<int64_t>> mult_;
  std::vector<int64_t> sizes_;
  int64_t filter_steps_ = 0;
  int64_t dfs_steps_ = 0;
};

}  // namespace

MatrixSize CountMatrixInstances(const Matrix& m) {
  MatrixSize out;
  if (m.axes.empty()) {
    out.count = static_cast<int64_t>(m.include.size());
    return out;
  }
  Counter counter(m);
  int64_t product = counter.Product();
  if (product >= kMatrixSizeCap) {
    out.count = kMatrixSizeCap;
    return out;
  }
  // Identical excludes would only make inclusion–exclusion slower.
  std::vector<Constraint> excludes;
  std::unordered_set<std::string> seen_excludes;
  for (const auto& e : m.exclude) {
    Constraint c;
    if (!counter.ToConstraint(e, &c)) continue;
    std::string key(reinterpret_cast<const char*>(c.data()), c.size() * sizeof(ValueId));
    if (seen_excludes.insert(key).second) excludes.push_back(std::move(c));
  }
  Constraint all(counter.axes(), kAny);
  Wide excluded = 0;
  if (!counter.UnionWithin(all, excludes, &excluded)) {
    out.exact = false;
    excluded = 0;
    for (const auto& e : excludes) excluded = std::max<Wide>(excluded, counter.Size(e));
  }
  Wide count = static_cast<Wide>(product) - excluded;
  for (const auto& inc : m.include) {
    Constraint c;
    if (!counter.ToConstraint(inc, &c)) {
      ++count;  // names a value no combination has: a new combination
      continue;
    }
    Wide hidden = 0;
    if (!counter.UnionWithin(c, excludes, &hidden)) {
      out.exact = false;
      ++count;
      continue;
    }
    if (static_cast<Wide>(counter.Size(c)) - hidden <= 0) ++count;
  }
  out.count = count >= kMatrixSizeCap ? kMatrixSizeCap : static_cast<int64_t>(count);
  return out;
}

}  // namespace relay::spec
