/*
 * ngx_skip: Redis reply objects from per-worker free lists (see
 * ngx_skip_reply.c).  The replies are plain hiredis redisReply trees.
 */

#ifndef _NGX_SKIP_REPLY_H_INCLUDED_
#define _NGX_SKIP_REPLY_H_INCLUDED_


#include <hiredis/hiredis.h>


/* A hiredis reader whose replies come from the free lists. */
redisReader *ngx_skip_reply_reader_create(void);

/* Give a reply of that reader (and its elements) back; NULL is fine. */
void ngx_skip_reply_free(void *reply);


#endif /* _NGX_SKIP_REPLY_H_INCLUDED_ */
