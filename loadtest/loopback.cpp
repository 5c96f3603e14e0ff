// switchboard-loopback: what moving bytes to many TCP streams costs this machine, without the
// gateway (docs/performance.md, step 8). One thread writes CHUNK bytes to each of N loopback
// sockets in turn, as the gateway writes a batch of frames to each SSE stream (with PIECE, in
// iovec entries of that size, as it wrote them before copying each batch into one buffer);
// another thread reads them all with epoll, as the load tester's fan-out readers do. Prints MB/s and CPU seconds (user + system, both
// threads) per GB moved.
//
//   switchboard-loopback [N=200] [CHUNK=56000] [SECONDS=5] [PIECE=CHUNK]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>
int main(int argc, char** argv) {
  // A benchmark, not a service: failures end it with status 1.
  int n = argc > 1 ? atoi(argv[1]) : 200;
  size_t chunk = argc > 2 ? atol(argv[2]) : 56000;
  size_t piece = argc > 4 ? atol(argv[4]) : chunk;  // iovec entries of this size
  double secs = argc > 3 ? atof(argv[3]) : 5;
  int ls = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(ls, (sockaddr*)&a, sizeof a);
  listen(ls, 1024);
  socklen_t al = sizeof a;
  getsockname(ls, (sockaddr*)&a, &al);
  std::vector<int> cl(n), sv(n);
  for (int i = 0; i < n; ++i) {
    cl[i] = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(cl[i], reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        (sv[i] = accept(ls, nullptr, nullptr)) < 0) {
      std::perror("connect");
      return 1;
    }
  }
  std::atomic<bool> stop{false};
  std::atomic<unsigned long long> got{0};
  std::thread reader([&] {
    int ep = epoll_create1(0);
    for (int i = 0; i < n; ++i) {
      epoll_event e{};
      e.events = EPOLLIN;
      e.data.fd = cl[i];
      epoll_ctl(ep, EPOLL_CTL_ADD, cl[i], &e);
    }
    std::vector<char> buf(16384);
    epoll_event evs[256];
    while (!stop) {
      int k = epoll_wait(ep, evs, 256, 100);
      for (int j = 0; j < k; ++j) {
        ssize_t r;
        while ((r = recv(evs[j].data.fd, buf.data(), buf.size(), MSG_DONTWAIT)) > 0) {
          got += static_cast<unsigned long long>(r);
        }
      }
    }
  });
  std::vector<char> data(chunk, 'x');
  unsigned long long sent = 0;
  auto t0 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t0 < std::chrono::duration<double>(secs)) {
    for (int i = 0; i < n; ++i) {
      std::vector<iovec> iov;
      for (size_t off = 0; off < chunk; off += piece) {
        iov.push_back({data.data() + off, std::min(piece, chunk - off)});
      }
      size_t left = chunk;
      size_t first = 0;
      while (left > 0) {
        msghdr m{};
        m.msg_iov = iov.data() + first;
        m.msg_iovlen = std::min<size_t>(64, iov.size() - first);
        ssize_t w = sendmsg(sv[i], &m, 0);
        if (w <= 0) {
          std::perror("sendmsg");
          return 1;
        }
        left -= w;
        size_t adv = w;
        while (adv > 0) {
          if (adv >= iov[first].iov_len) {
            adv -= iov[first].iov_len;
            ++first;
          } else {
            iov[first].iov_base = (char*)iov[first].iov_base + adv;
            iov[first].iov_len -= adv;
            adv = 0;
          }
        }
      }
      sent += chunk;
    }
  }
  while (got < sent) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  stop = true;
  reader.join();
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
               ru.ru_stime.tv_usec / 1e6;
  printf(
      "streams %d chunk %zu: %.0f MB/s, %.2f CPU-s per GB (%.0f%% of one core per 100 MB/s), "
      "writes %.0f/s\n",
      n, chunk, sent / wall / 1e6, cpu / (sent / 1e9), cpu / (sent / 1e9) * 0.1 * 100,
      sent / (double)chunk / wall);
}
