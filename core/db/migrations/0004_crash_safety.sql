ALTER TABLE `messages` ADD `partial` integer DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX `messages_partial_idx` ON `messages` (`partial`) WHERE partial = 1;