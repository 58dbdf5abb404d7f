from recommend.rewards import REWARD_CONTEXT, RewardReason, RewardSignals, reward_score


def test_a_reward_on_offered_products_scores_by_the_best_rank() -> None:
    first, _ = reward_score(RewardSignals(True, offer_rank=0))
    fifth, _ = reward_score(RewardSignals(True, offer_rank=4))
    beyond, _ = reward_score(RewardSignals(True, offer_rank=REWARD_CONTEXT))

    assert first == 1.0
    assert fifth == 1.0 - 4 / (2 * REWARD_CONTEXT)
    assert beyond == 0.0


def test_the_stronger_of_offers_and_own_lines_counts() -> None:
    bought_only, _ = reward_score(RewardSignals(True, bought_share=0.3))
    both, _ = reward_score(RewardSignals(True, bought_share=0.3, offer_rank=10))
    never, _ = reward_score(RewardSignals(True))

    assert bought_only == 0.3
    assert both == 0.75
    assert never == 0.0


def test_other_rewards_take_their_prior_and_affordability_scales() -> None:
    assert reward_score(RewardSignals(False, prior=0.6)) == (0.6, RewardReason.AFFORDABLE_NOW)
    # half of the cost covered: half of half the affinity
    assert reward_score(RewardSignals(False, prior=0.6, covered=0.5)) == (
        0.15,
        RewardReason.POPULAR,
    )
    assert reward_score(RewardSignals(True, bought_share=0.2, covered=0.5)) == (
        0.05,
        RewardReason.BOUGHT_OFTEN,
    )
