export function Avatar({ name }: { name: string }) {
  const hue = Math.floor(Math.random() * 360);
  return <div style={{ background: `hsl(${hue} 70% 50%)` }}>{name[0]}</div>;
}
