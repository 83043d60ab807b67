CREATE TABLE `dispatcher` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`setid` integer NOT NULL,
	`destination` text NOT NULL,
	`socket` text,
	`state` integer DEFAULT 0 NOT NULL,
	`probe_mode` integer DEFAULT 0 NOT NULL,
	`weight` integer DEFAULT 1 NOT NULL,
	`priority` integer DEFAULT 0 NOT NULL,
	`attrs` text,
	`description` text
);
--> statement-breakpoint
CREATE INDEX `dispatcher_setid_idx` ON `dispatcher` (`setid`);--> statement-breakpoint
CREATE TABLE `domain` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`domain` text NOT NULL,
	`setid` integer NOT NULL,
	`attrs` text,
	`accept_subdomain` integer DEFAULT 0 NOT NULL,
	`last_modified` integer DEFAULT (unixepoch()) NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `domain_domain_idx` ON `domain` (`domain`);--> statement-breakpoint
CREATE INDEX `domain_setid_idx` ON `domain` (`setid`);--> statement-breakpoint
CREATE TABLE `location` (
	`contact_id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`username` text DEFAULT '' NOT NULL,
	`domain` text DEFAULT '' NOT NULL,
	`contact` text NOT NULL,
	`received` text,
	`path` text,
	`expires` integer NOT NULL,
	`q` real DEFAULT 1 NOT NULL,
	`callid` text DEFAULT 'Default-Call-ID' NOT NULL,
	`cseq` integer DEFAULT 13 NOT NULL,
	`last_modified` integer DEFAULT 0 NOT NULL,
	`flags` integer DEFAULT 0 NOT NULL,
	`cflags` text,
	`user_agent` text DEFAULT '' NOT NULL,
	`socket` text,
	`methods` integer,
	`sip_instance` text,
	`kv_store` text,
	`attr` text
);
--> statement-breakpoint
CREATE UNIQUE INDEX `location_aor_contact_idx` ON `location` (`username`,`domain`,`contact`);--> statement-breakpoint
CREATE INDEX `location_expires_idx` ON `location` (`expires`);