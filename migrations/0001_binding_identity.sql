CREATE TABLE `location_tombstone` (
	`username` text NOT NULL,
	`domain` text NOT NULL,
	`ruid` text NOT NULL,
	`callid` text DEFAULT '' NOT NULL,
	`cseq` integer DEFAULT 0 NOT NULL,
	`removed_at` integer NOT NULL,
	`expires` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `location_tombstone_key_idx` ON `location_tombstone` (`username`,`domain`,`ruid`);--> statement-breakpoint
CREATE INDEX `location_tombstone_expires_idx` ON `location_tombstone` (`expires`);--> statement-breakpoint
DROP INDEX `location_aor_contact_idx`;--> statement-breakpoint
ALTER TABLE `location` ADD `ruid` text;--> statement-breakpoint
CREATE UNIQUE INDEX `location_aor_ruid_idx` ON `location` (`username`,`domain`,`ruid`);--> statement-breakpoint
CREATE INDEX `location_domain_idx` ON `location` (`domain`);--> statement-breakpoint
CREATE INDEX `location_aor_contact_idx` ON `location` (`username`,`domain`,`contact`);