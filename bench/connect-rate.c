// The packet-path figure's client and server: what a jail's rules cost new connections.
//   connect-rate serve PORT          accepts and closes connections on PORT (both families) until killed
//   connect-rate connect HOST PORT SECONDS [SOURCE...]
//                                    opens and resets (SO_LINGER 0) TCP connections to HOST:PORT one
//                                    after another for SECONDS, then prints how many connected a second;
//                                    with SOURCEs, each connection is bound to the next one in turn
// Each connection is reset, not closed, so no TIME_WAIT builds up; the loop stops by itself.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int serve(int port) {
  int fd = socket(AF_INET6, SOCK_STREAM, 0);
  int zero = 0, one = 1;
  setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in6 address = {.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = in6addr_any};
  if (bind(fd, (struct sockaddr *)&address, sizeof address) != 0 || listen(fd, 4096) != 0) {
    perror("serve");
    return 1;
  }
  printf("listening %d\n", port);
  fflush(stdout);
  for (;;) {
    int client = accept(fd, NULL, NULL);
    if (client >= 0) close(client);
  }
}

static int connect_loop(const char *host, const char *port, double seconds, int sources, char **source) {
  struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST}, *target;
  if (getaddrinfo(host, port, &hints, &target) != 0) {
    fprintf(stderr, "connect-rate: bad address %s\n", host);
    return 2;
  }
  struct addrinfo *from[256];
  if (sources > 256) sources = 256;
  for (int i = 0; i < sources; i++) {
    if (getaddrinfo(source[i], "0", &hints, &from[i]) != 0 || from[i]->ai_family != target->ai_family) {
      fprintf(stderr, "connect-rate: bad source address %s\n", source[i]);
      return 2;
    }
  }
  struct linger reset = {.l_onoff = 1, .l_linger = 0};
  struct timeval timeout = {.tv_sec = 1, .tv_usec = 0};
  long connected = 0, failed = 0;
  double start = now(), end = start + seconds;
  for (long n = 0; now() < end; n++) {
    int fd = socket(target->ai_family, SOCK_STREAM, 0);
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
    if (sources > 0 && bind(fd, from[n % sources]->ai_addr, from[n % sources]->ai_addrlen) != 0) {
      perror("connect-rate: bind");
      return 1;
    }
    if (connect(fd, target->ai_addr, target->ai_addrlen) == 0) connected++;
    else failed++;
    close(fd);
  }
  double elapsed = now() - start;
  printf("%.0f %ld\n", connected / elapsed, failed);
  freeaddrinfo(target);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "serve") == 0) return serve(atoi(argv[2]));
  if (argc >= 5 && strcmp(argv[1], "connect") == 0) return connect_loop(argv[2], argv[3], atof(argv[4]), argc - 5, argv + 5);
  fprintf(stderr, "usage: connect-rate serve PORT | connect-rate connect HOST PORT SECONDS [SOURCE...]\n");
  return 2;
}
