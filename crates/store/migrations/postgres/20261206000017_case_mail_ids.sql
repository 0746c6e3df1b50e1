-- Message ids are kept without their angle brackets (`<id@host>` and `id@host` are one id), so
-- mail taken in before and its replies still match.
UPDATE case_mail SET message_id = substr(message_id, 2, length(message_id) - 2)
WHERE message_id LIKE '<%>'
  AND NOT EXISTS (
    SELECT 1 FROM case_mail m2
    WHERE m2.organisation_id = case_mail.organisation_id
      AND m2.message_id = substr(case_mail.message_id, 2, length(case_mail.message_id) - 2)
  );
