/*
 * security.h — search_path pinning for SPI queries run from C (security.c).
 */
#ifndef MLSYS_SECURITY_H
#define MLSYS_SECURITY_H

extern int	mlsys_pin_search_path(void);
extern void mlsys_unpin_search_path(int nestlevel);

#endif
