ALTER TABLE `conversations` ADD `compacted_through` integer;--> statement-breakpoint
ALTER TABLE `conversations` ADD `compacted_at` integer;--> statement-breakpoint
ALTER TABLE `conversations` ADD `summary` text;--> statement-breakpoint
ALTER TABLE `usage` ADD `saved_usd` real DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE `usage` ADD `turn_id` text;--> statement-breakpoint
CREATE INDEX `usage_conversation_idx` ON `usage` (`conversation_id`);