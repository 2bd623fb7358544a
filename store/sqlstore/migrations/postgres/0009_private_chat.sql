-- 0009: private chat messages: to one participant of the room.

ALTER TABLE chat_messages ADD COLUMN to_participant_id TEXT; -- NULL: to everyone in the room
