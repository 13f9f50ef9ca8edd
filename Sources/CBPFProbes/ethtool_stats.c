/* ETHTOOL_GSSET_INFO for the number of ETH_SS_STATS strings, ETHTOOL_GSTRINGS for their
 * names, ETHTOOL_GSTATS for the values: the three requests ethtool's `-S` makes
 * (include/uapi/linux/ethtool.h, net/ethtool/ioctl.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include "ethtool_stats.h"

static int request(int fd, const char *ifname, void *data)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
    ifr.ifr_data = data;
    return ioctl(fd, SIOCETHTOOL, &ifr) < 0 ? errno : 0;
}

int kk_ethtool_stats(const char *ifname, kk_ethtool_stat_fn fn, void *context)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return errno;
    int rc;
    struct {
        struct ethtool_sset_info hdr;
        __u32 count;
    } info;
    memset(&info, 0, sizeof(info));
    info.hdr.cmd = ETHTOOL_GSSET_INFO;
    info.hdr.sset_mask = 1ULL << ETH_SS_STATS;
    if ((rc = request(fd, ifname, &info)) != 0)
        goto out;
    __u32 n = info.hdr.sset_mask ? info.count : 0;
    if (n == 0) {
        rc = EOPNOTSUPP;
        goto out;
    }
    struct ethtool_gstrings *names = calloc(1, sizeof(*names) + (size_t)n * ETH_GSTRING_LEN);
    struct ethtool_stats *stats = calloc(1, sizeof(*stats) + (size_t)n * sizeof(__u64));
    if (!names || !stats) {
        rc = ENOMEM;
    } else {
        names->cmd = ETHTOOL_GSTRINGS;
        names->string_set = ETH_SS_STATS;
        names->len = n;
        stats->cmd = ETHTOOL_GSTATS;
        stats->n_stats = n;
        if ((rc = request(fd, ifname, names)) == 0 && (rc = request(fd, ifname, stats)) == 0) {
            for (__u32 i = 0; i < n && i < stats->n_stats; i++) {
                char name[ETH_GSTRING_LEN + 1];
                memcpy(name, names->data + (size_t)i * ETH_GSTRING_LEN, ETH_GSTRING_LEN);
                name[ETH_GSTRING_LEN] = 0;
                fn(name, stats->data[i], context);
            }
        }
    }
    free(names);
    free(stats);
out:
    close(fd);
    return rc;
}
