// The head file beside the store (PATH.heads): after each commit, a line
// "RUN SEQ HASH" for every run the commit extended. It anchors each chain's
// head outside the database, so that events removed from the end of a run,
// or commits SQLite lost (a damaged WAL), show up in `relay ledger verify`
// instead of passing as a shorter, valid chain. Written after the commit, the
// file may lag the ledger (a relay killed in between), never lead it.
//
// Appends are not synced, as SQLite's WAL is not at durability `normal`:
// they survive a crash of relay. They are synced when the store's
// durability is `power`, and when a commit ends a run, so a finished run's
// head survives power loss.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <map>

#include "store/sqlite/sqlite_store.h"

namespace relay::store::sqlite {
namespace {

struct Line {
  std::string_view run, seq, hash;
};

bool ParseLine(std::string_view line, Line* out, int64_t* seq) {
  size_t a = line.find(' ');
  if (a == std::string_view::npos) return false;
  size_t b = line.find(' ', a + 1);
  if (b == std::string_view::npos) return false;
  *out = Line{line.substr(0, a), line.substr(a + 1, b - a - 1), line.substr(b + 1)};
  auto [end, ec] = std::from_chars(out->seq.data(), out->seq.data() + out->seq.size(), *seq);
  return ec == std::errc() && end == out->seq.data() + out->seq.size() && *seq > 0 &&
         out->hash.size() == 64;
}

// Calls f(line) for each complete line of the file; a torn last line (a
// relay killed mid-append) is skipped.
template <typename F>
Status ForEachLine(const std::string& path, F f) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? Status::Ok() : Status::FromErrno("read " + path, errno);
  std::string carry;
  char buf[64 * 1024];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return Status::FromErrno("read " + path, err);
    }
    if (n == 0) break;
    carry.append(buf, static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = carry.find('\n', start)) != std::string::npos; start = nl + 1)
      f(std::string_view(carry).substr(start, nl - start));
    carry.erase(0, start);
  }
  ::close(fd);
  return Status::Ok();
}

// Replaces `path` with `text`: written to a name of this process's own,
// synced, renamed over it, the directory synced. Two relays opening the
// store at once may both compact: each renames a whole file of its own
// (one shared temporary name, truncated by the second while the first
// writes, could leave holes). False when it could not: the old file stays.
bool ReplaceFile(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".compact-" + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  bool ok = true;
  for (size_t done = 0; ok && done < text.size();) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    ok = n > 0;
    if (ok) done += static_cast<size_t>(n);
  }
  ok = ::fdatasync(fd) == 0 && ok;
  ok = ::close(fd) == 0 && ok;
  if (ok) ok = ::rename(tmp.c_str(), path.c_str()) == 0;
  if (!ok) {
    ::unlink(tmp.c_str());
    return false;
  }
  std::string dir = std::filesystem::path(path).parent_path().string();
  int dfd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

}  // namespace

void SqliteStore::OpenHeads() {
  const std::string path = path_ + kHeadsSuffix;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && st.st_size > kHeadsCompactBytes) {
    // One line per run, in the order runs first appear: what verify needs.
    // The highest seq wins, as in GetHeadAnchor: two relays may append a
    // run's lines out of order (each writes after its own commit).
    std::map<std::string, std::pair<int64_t, std::string>> last;
    std::vector<std::string> order;
    Status read = ForEachLine(path, [&](std::string_view line) {
      Line l;
      int64_t seq;
      if (!ParseLine(line, &l, &seq)) return;
      auto [it, added] = last.emplace(std::string(l.run), std::pair(seq, std::string(line)));
      if (added)
        order.push_back(it->first);
      else if (seq >= it->second.first)
        it->second = {seq, std::string(line)};
    });
    if (read.ok()) {
      std::string text;
      for (const auto& run : order) text += last[run].second + "\n";
      (void)ReplaceFile(path, text);  // a failure leaves the long file: harmless
    }
  }
  heads_fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

void SqliteStore::WriteAnchors() {
  if (anchors_.empty()) return;
  if (heads_check_ && heads_fd_ >= 0) {
    // Another relay may have compacted the file (replaced it): append to
    // the file that has the name, not to the one it replaced.
    heads_check_ = false;
    struct stat mine, named;
    const std::string path = path_ + kHeadsSuffix;
    if (::fstat(heads_fd_, &mine) != 0 || ::stat(path.c_str(), &named) != 0 ||
        mine.st_ino != named.st_ino || mine.st_dev != named.st_dev) {
      ::close(heads_fd_);
      heads_fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    }
  }
  if (heads_fd_ < 0) {
    anchors_.clear();
    return;
  }
  std::string& text = heads_scratch_;
  text.clear();
  for (const Anchor& a : anchors_) {
    text += *a.run_id;
    text += ' ';
    char buf[24];
    text.append(buf, std::to_chars(buf, buf + sizeof buf, a.seq).ptr);
    text += ' ';
    events::AppendDigestHex(text, a.head);
    text += '\n';
  }
  anchors_.clear();
  // One write: O_APPEND keeps lines of several relays whole.
  for (size_t done = 0; done < text.size();) {
    ssize_t n = ::write(heads_fd_, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the anchor lags; the ledger is what was committed
    done += static_cast<size_t>(n);
  }
  if (sync_heads_ || power_) ::fdatasync(heads_fd_);
}

Result<HeadAnchor> SqliteStore::GetHeadAnchor(const std::string& run_id) {
  HeadAnchor anchor;
  Status read = ForEachLine(path_ + kHeadsSuffix, [&](std::string_view line) {
    Line l;
    int64_t seq;
    // Two relays may append a run's lines out of order (each after its own
    // commit): the highest seq is the head.
    if (!ParseLine(line, &l, &seq) || l.run != run_id || seq < anchor.seq) return;
    anchor.seq = seq;
    anchor.hash.assign(l.hash);
  });
  RELAY_RETURN_IF_ERROR(read);
  return anchor;
}

}  // namespace relay::store::sqlite
