-- Made-up production rows, personal columns included (the demo shows them masked in test).
INSERT INTO clients (name, email, phone)
SELECT 'Client ' || g, 'client' || g || '@customer.example', '+44 20 7946 ' || lpad(g::text, 4, '0')
FROM generate_series(1, 20) g;
INSERT INTO projects (client_id, name, slug) SELECT g, 'Project ' || g, 'project-' || g
FROM generate_series(1, 20) g;
INSERT INTO object_models (name, definition)
SELECT 'model_' || g, jsonb_build_object('fields', g) FROM generate_series(1, 10) g;
INSERT INTO prompts (object_model_id, name, template, owner_email)
SELECT 1 + g % 10, 'prompt_' || g, 'Write about {topic} #' || g, 'editor' || g || '@contentgen.example'
FROM generate_series(1, 50) g;
INSERT INTO llm_usage (project_id, prompt_id, tokens, ip)
SELECT 1 + g % 20, 1 + g % 50, g * 7, ('192.0.2.' || (g % 250))::inet FROM generate_series(1, 100) g;
INSERT INTO project_acme.articles (title, body, author_email)
SELECT 'Article ' || g, 'Body ' || g, 'writer' || g || '@acme.example' FROM generate_series(1, 10) g;
