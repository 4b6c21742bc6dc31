/* attack.h - the MITRE ATT&CK techniques portside reports. */
#ifndef PS_ATTACK_H
#define PS_ATTACK_H

#include "event.h"

extern const ps_technique ps_t1613;     /* Container and Resource Discovery */
extern const ps_technique ps_t1082;     /* System Information Discovery */
extern const ps_technique ps_t1552_007; /* Unsecured Credentials: Container API */
extern const ps_technique ps_t1654;     /* Log Enumeration */
extern const ps_technique ps_t1005;     /* Data from Local System */
extern const ps_technique ps_t1046;     /* Network Service Discovery */
extern const ps_technique ps_t1069;     /* Permission Groups Discovery */
extern const ps_technique ps_t1609;     /* Container Administration Command */
extern const ps_technique ps_t1610;     /* Deploy Container */
extern const ps_technique ps_t1611;     /* Escape to Host */
extern const ps_technique ps_t1105;     /* Ingress Tool Transfer */
extern const ps_technique ps_t1612;     /* Build Image on Host */
extern const ps_technique ps_t1528;     /* Steal Application Access Token */
extern const ps_technique ps_t1572;     /* Protocol Tunneling */

#endif
