/* handover_channel: one handover_message per SOCK_SEQPACKET packet on a unix socket, with the
 * listening sockets it describes passed as SCM_RIGHTS descriptors. */
#include "handover_channel.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONTROL_SIZE CMSG_SPACE(HANDOVER_BATCH_MAX * sizeof(int))

bool handover_send(int socket_fd, const struct handover_message *message, const int *fds)
{
    char packet[HANDOVER_MESSAGE_MAX];
    size_t length = handover_message_format(message, packet, sizeof(packet));
    if (length == 0) {
        errno = EINVAL;
        return false;
    }
    size_t fd_count = message->type == HANDOVER_LISTENERS ? message->listener_count : 0;
    struct iovec vector = { .iov_base = packet, .iov_len = length };
    union {
        char bytes[CONTROL_SIZE];
        struct cmsghdr align;
    } control;
    struct msghdr header = { .msg_iov = &vector, .msg_iovlen = 1 };
    if (fd_count > 0) {
        memset(&control, 0, sizeof(control));
        header.msg_control = control.bytes;
        header.msg_controllen = CMSG_SPACE(fd_count * sizeof(int));
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&header);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(fd_count * sizeof(int));
        memcpy(CMSG_DATA(cmsg), fds, fd_count * sizeof(int));
    }
    ssize_t sent;
    do
        sent = sendmsg(socket_fd, &header, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    if (sent >= 0 && (size_t)sent != length)
        errno = EMSGSIZE;
    return sent >= 0 && (size_t)sent == length;
}

/* Every descriptor the packet carried, whatever the packet said. */
static size_t take_descriptors(struct msghdr *header, int *fds, size_t max, bool *extra)
{
    size_t count = 0;
    *extra = false;
    for (struct cmsghdr *cmsg = CMSG_FIRSTHDR(header); cmsg != NULL;
         cmsg = CMSG_NXTHDR(header, cmsg)) {
        if (cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS)
            continue;
        size_t in_message = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < in_message; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int), sizeof(int));
            if (count < max)
                fds[count++] = fd;
            else {
                close(fd);
                *extra = true;
            }
        }
    }
    return count;
}

bool handover_receive(int socket_fd, struct handover_message *message,
                      int fds[HANDOVER_BATCH_MAX])
{
    char packet[HANDOVER_MESSAGE_MAX + 1];
    union {
        char bytes[CONTROL_SIZE];
        struct cmsghdr align;
    } control;
    struct iovec vector = { .iov_base = packet, .iov_len = sizeof(packet) };
    struct msghdr header = { .msg_iov = &vector, .msg_iovlen = 1, .msg_control = control.bytes,
                             .msg_controllen = sizeof(control.bytes) };
    ssize_t received;
    do
        received = recvmsg(socket_fd, &header, MSG_CMSG_CLOEXEC);
    while (received < 0 && errno == EINTR);
    if (received <= 0) {
        if (received == 0)
            errno = 0;
        return false;
    }
    bool extra;
    size_t fd_count = take_descriptors(&header, fds, HANDOVER_BATCH_MAX, &extra);
    size_t expected = 0;
    bool good = !extra && (header.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) == 0 &&
                handover_message_parse(packet, (size_t)received, message);
    if (good && message->type == HANDOVER_LISTENERS)
        expected = message->listener_count;
    if (!good || fd_count != expected) {
        for (size_t i = 0; i < fd_count; i++)
            close(fds[i]);
        errno = EPROTO;
        return false;
    }
    return true;
}
