#include "keeper/rendezvous_posix.h"

#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>

namespace relay::keeper {
namespace {

constexpr const char* kPrefix = "relay-keeper/";

// FNV-1a: the same on every build, unlike std::hash, since two relay
// binaries must agree on the name.
uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 14695981039346656037ull;
  for (char c : s) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ull;
  }
  return h;
}

socklen_t Address(const std::string& owner_id, sockaddr_un* addr) {
  std::memset(addr, 0, sizeof *addr);
  addr->sun_family = AF_UNIX;
  std::string name = RendezvousName(owner_id);
  std::memcpy(addr->sun_path, name.data(), name.size());
  return static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
}

}  // namespace

std::string RendezvousName(const std::string& owner_id) {
  std::string name = std::string(1, '\0') + kPrefix + owner_id;
  if (name.size() <= sizeof(sockaddr_un::sun_path)) return name;
  char hash[20];
  std::snprintf(hash, sizeof hash, "#%016llx", static_cast<unsigned long long>(Fnv1a(owner_id)));
  return std::string(1, '\0') + kPrefix + hash;
}

Result<int> BindRendezvous(const std::string& owner_id) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::FromErrno("cannot create the keeper's socket", errno);
  sockaddr_un addr;
  socklen_t len = Address(owner_id, &addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EADDRINUSE)
      return Status::Io("a keeper for relay " + owner_id + " is running already");
    return Status::FromErrno("cannot bind the keeper's socket", err);
  }
  return fd;
}

Status Listen(int fd) {
  if (::listen(fd, 16) != 0)
    return Status::FromErrno("cannot listen on the keeper's socket", errno);
  return Status::Ok();
}

Result<int> ConnectToKeeper(const std::string& owner_id, int* keeper_pid) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::FromErrno("cannot create a socket", errno);
  sockaddr_un addr;
  socklen_t len = Address(owner_id, &addr);
  int rc;
  do {
    rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), len);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    int err = errno;
    ::close(fd);
    return Status::NotFound("no keeper for relay " + owner_id + ": " + std::strerror(err));
  }
  if (!PeerIsSameUser(fd, keeper_pid)) {
    ::close(fd);
    return Status::Io("the keeper for relay " + owner_id + " runs as another user");
  }
  return fd;
}

bool PeerIsSameUser(int fd, int* peer_pid) {
  ucred cred;
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
  if (peer_pid != nullptr) *peer_pid = cred.pid;
  return cred.uid == ::getuid();
}

}  // namespace relay::keeper
