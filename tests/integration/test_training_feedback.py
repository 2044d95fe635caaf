"""Operators' corrections flow back into training: stored through the store, read by `appeals train
--from-store`, and learnt by the next model (a department the demo data never had)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

pytestmark = pytest.mark.slow

NEW_DEPARTMENT = "Отдел по средствам индивидуальной мобильности"
SCOOTERS = [
    "Электросамокаты брошены прямо посреди тротуара у остановки, не пройти с коляской",
    "Арендные самокаты свалены кучей у входа в поликлинику, пожилые люди спотыкаются",
    "Кто-то оставил прокатный самокат поперёк пешеходного перехода",
    "Самокаты кикшеринга стоят на газоне во дворе, газон вытоптан",
    "Уберите самокаты с детской площадки, дети на них залезают",
    "Прокатные электросамокаты перегородили выход из подъезда",
    "У школы каждый день десяток брошенных самокатов на тротуаре",
    "Самокат лежит на велодорожке уже третий день, никто не забирает",
    "Просим ограничить парковку арендных самокатов возле рынка, всё заставлено",
    "Электросамокат оставлен в подземном переходе на лестнице, опасно",
    "Брошенные самокаты мешают проходу у магазина на углу",
    "Самокаты аренды стоят вплотную к пандусу, инвалидная коляска не проезжает",
]


def test_stored_corrections_teach_the_next_model(tmp_path, monkeypatch) -> None:
    from mlflow import MlflowClient
    from typer.testing import CliRunner

    from appeals.cli import build_app
    from appeals.registry import Gates, load_champion, promote, tracking_uri
    from appeals.store import AppealRow, CorrectionRow, make_engine, save_appeals, save_correction, upgrade
    from tests.integration.conftest import DEMO_CONFIG

    db = f"sqlite:///{tmp_path / 'appeals.db'}"
    for key, value in {"APPEALS_DB_URL": db, "APPEALS_HOME": str(tmp_path),
                       "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}"}.items():
        monkeypatch.setenv(key, value)
    engine = make_engine(db)
    upgrade(engine)
    now = datetime.now(UTC)
    save_appeals(engine, [AppealRow(id=f"sc-{i}", received_at=now, text_masked=text,
                                    department="Администрация района")
                          for i, text in enumerate(SCOOTERS)])
    for i in range(len(SCOOTERS)):
        save_correction(engine, CorrectionRow(appeal_id=f"sc-{i}", operator_id="op-7",
                                              department=NEW_DEPARTMENT))
    config = tmp_path / "dept.toml"
    demo = DEMO_CONFIG.read_text(encoding="utf-8")
    data = demo[demo.index("[data]"):demo.index("[families.tfidf_svm]")]
    config.write_text("\n".join(['name = "feedback-test"', 'experiment = "feedback-test"',
                                 'tasks = ["department"]', "derive_group_from_topic = false",
                                 "blend_top_two = false", data, "[families.tfidf_svm]", 'classifier = "svm"']),
                      encoding="utf-8")

    result = CliRunner().invoke(build_app(), ["train", "--config", str(config), "--from-store"])
    assert result.exit_code == 0, result.output
    assert f"{len(SCOOTERS)} corrected appeals in the store" in result.output
    client = MlflowClient(tracking_uri())
    runs = client.search_runs([client.get_experiment_by_name("feedback-test").experiment_id],
                              "tags.kind = 'training'")
    assert runs[0].data.params["corrections_added"] == str(len(SCOOTERS))
    assert promote("department", Gates()).promoted
    model, _ = load_champion("department")
    assert NEW_DEPARTMENT in list(model.classes_)
    unseen = ["Во дворе опять бросили арендные электросамокаты, не пройти",
              "Самокаты заставили весь тротуар у остановки"]
    assert list(model.predict(unseen)) == [NEW_DEPARTMENT] * 2
