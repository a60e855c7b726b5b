/**
 * The pretend payment: whether a card "declines". The shopper may pick a declining card on
 * the checkout form; otherwise every n-th payment fails (PAYMENT_FAIL_EVERY, repeatable) or
 * a random share of them (PAYMENT_FAIL_RATE).
 */

export type CardChoice = 'pay' | 'decline';

export interface PaymentSettings {
  readonly failRate: number;
  readonly failEvery: number;
}

export interface PretendPayments {
  /** true: the payment went through */
  charge(choice: CardChoice): boolean;
}

export function pretendPayments(settings: PaymentSettings, random: () => number = Math.random): PretendPayments {
  let count = 0;
  return {
    charge(choice) {
      if (choice === 'decline') return false;
      count++;
      if (settings.failEvery > 0) return count % settings.failEvery !== 0;
      return random() >= settings.failRate;
    },
  };
}

/** the form's or JSON body's `card` field; anything else is a normal card */
export function cardChoice(value: unknown): CardChoice {
  return value === 'decline' ? 'decline' : 'pay';
}
