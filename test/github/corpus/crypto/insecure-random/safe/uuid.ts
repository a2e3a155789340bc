export const requestId = () => crypto.randomUUID();
export const wobble = (x: number) => x + (Math.random() - 0.5) * 0.1;
